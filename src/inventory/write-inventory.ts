import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { exists } from '../fs/exists.js';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { UnownedFilesError, UsageError } from '../errors.js';
import { lockPath } from '../lock/lock-file.js';
import type { ResolvedSpec } from '../spec/types.js';
import { keyIdOf, readPrivateKey, signEnvelope } from './dsse.js';
import { makeProvenance } from './provenance.js';
import { writeFileWhole } from '../fs/replace-file.js';
import type { OutputDigest } from '../image/output-digest.js';
import type { Logger } from '../log/logger.js';
import { cacheLayout } from '../cache/cache.js';
import { withPackageCache } from '../cache/package-cache.js';
import { removeTree } from '../fs/fs-tree.js';
import type { BuildPlan } from '../stage/types.js';
import { packageManagerFor } from '../pm/index.js';
import { standalonePmContext } from '../pm/pm-context.js';
import { makeManifest, type Manifest, type ManifestInputs } from './manifest.js';

/** The files written next to an output (a file or a folder): bin/x.iso → bin/x.iso.manifest.json. */
export function inventoryPaths(output: string): { manifest: string; sbom: string; provenance: string } {
  const base = output.replace(/\/+$/, '');
  return { manifest: `${base}.manifest.json`, sbom: `${base}.cdx.json`, provenance: `${base}.intoto.json` };
}

/** Where the build's signing key is, and what the provenance of which repo it may sign. */
export interface SigningKey {
  readonly file: string;
  readonly key: KeyObject;
}

/**
 * `build --sign-key FILE` or ISOBUILD_SIGNING_KEY: the key that signs each output's provenance.
 * Refused inside the repo folder (the repo is an input others copy, bundle and cache) before
 * any stage runs; the key itself is in no cache key, event or log line, only its id.
 */
export async function loadSigningKey(
  file: string | undefined,
  spec: Pick<ResolvedSpec, 'repoDir'>,
): Promise<SigningKey | undefined> {
  if (!file) return undefined;
  const path = resolve(file);
  const rel = relative(resolve(spec.repoDir), path);
  if (!rel.startsWith('..') && !isAbsolute(rel))
    throw new UsageError(
      `signing key ${path}: inside the repo folder ${spec.repoDir}; keep private keys outside it`,
    );
  return { file: path, key: await readPrivateKey(path) };
}

/**
 * `<output>.intoto.json`: the provenance statement, or with a key its DSSE envelope. Written
 * every time (it is small): a key given or taken away changes it while the manifest stays.
 */
async function writeProvenance(
  i: ManifestInputs,
  m: Manifest,
  paths: ReturnType<typeof inventoryPaths>,
  signing: SigningKey | undefined,
): Promise<void> {
  const { spec } = i.plan;
  const lock = lockPath(spec);
  const statement = await makeProvenance({
    manifest: m,
    specFile: spec.specFile,
    ...((await exists(lock)) ? { lockFile: lock } : {}),
    locked: i.plan.options.locked !== undefined,
    packagemanager: i.pm.purlType,
    byproducts: [paths.manifest, paths.sbom],
  });
  const text = JSON.stringify(statement, null, 2) + '\n';
  await writeFileWhole(
    paths.provenance,
    signing
      ? JSON.stringify(signEnvelope(Buffer.from(text), signing.key, signing.file), null, 2) + '\n'
      : text,
  );
}

export function formatManifest(m: Manifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}

/**
 * Writes `<output>.manifest.json`, the CycloneDX `<output>.cdx.json` and the provenance
 * `<output>.intoto.json` for one written output; the manifest, for the caller's checks.
 */
export async function writeInventory(
  i: ManifestInputs,
  signing?: SigningKey,
): Promise<ReturnType<typeof inventoryPaths> & { manifestData: Manifest }> {
  const m = await makeManifest(i);
  const paths = inventoryPaths(i.output);
  const text = formatManifest(m);
  // The SBOM is a function of the manifest: a rebuild that changed nothing (the same manifest
  // bytes already there, the SBOM beside it) leaves both as they are.
  if (
    (await readFile(paths.manifest, 'utf8').catch(() => undefined)) !== text ||
    !(await exists(paths.sbom))
  ) {
    // Loaded here, not at the top: the CycloneDX library is a third of the CLI's start-up, and only
    // a changed output needs it (`isobuild run` and no-op builds start sooner without it).
    const { makeSbom } = await import('./sbom.js');
    await writeFileWhole(paths.manifest, text);
    await writeFileWhole(paths.sbom, makeSbom(m, i.pm.purlType));
  }
  await writeProvenance(i, m, paths, signing);
  return { ...paths, manifestData: m };
}

/** `unowned: error`: the files no package, hook, kernel or isobuild layer accounts for fail the build. */
function checkUnowned(plan: BuildPlan, m: Manifest, manifestPath: string, logger: Logger): void {
  const unowned = m.unowned ?? [];
  if (!unowned.length) return;
  const shown = unowned.slice(0, 20).join('\n  ');
  const more =
    unowned.length > 20 ? `\n  ... and ${unowned.length - 20} more (${manifestPath}: unowned)` : '';
  if (plan.spec.unowned === 'error')
    throw new UnownedFilesError(
      `${unowned.length} file(s) of the ${m.format} root have no known source (unowned: error in ${plan.spec.specFile}):\n  ${shown}${more}`,
      { output: m.output.name, manifest: manifestPath, files: unowned },
    );
  logger.debug(`${unowned.length} file(s) no package owns: see ${manifestPath} (unowned)`);
}

/**
 * Manifest and SBOM next to every output the build wrote, whatever its format: `written`
 * pairs each format of the outputs table with the path its writer used.
 */
export async function writeInventories(
  plan: BuildPlan,
  result: Pick<ManifestInputs, 'outcomes' | 'entries' | 'final'>,
  written: readonly { format: string; path: string; digest?: OutputDigest }[],
  logger: Logger,
  signing?: SigningKey,
): Promise<void> {
  if (!written.length) return;
  const layout = cacheLayout(resolve(plan.options.cacheRoot));
  await mkdir(layout.tmp, { recursive: true });
  const tmpDir = await mkdtemp(join(layout.tmp, `${plan.spec.name}-inventory-`));
  try {
    const pmContext = standalonePmContext({
      spec: plan.spec,
      rootfs: result.final.rootfs,
      pkgCacheDir: layout.packagesFor(plan.spec.arch),
      tmpDir,
      stage: 'manifest',
      sourceDateEpoch: plan.options.sourceDateEpoch,
      logger,
    });
    const pm = packageManagerFor(plan.spec.packagemanager);
    // apt's listInstalled keeps its lookups beside the lists: the shared cache's lock.
    await withPackageCache(pmContext, async () => {
      for (const { format, path, digest } of written) {
        const paths = await writeInventory(
          {
            plan,
            format,
            output: path,
            ...(digest ? { outputDigest: digest } : {}),
            outcomes: result.outcomes,
            entries: result.entries,
            final: result.final,
            pm,
            pmContext,
          },
          signing,
        );
        logger.event(
          {
            type: 'inventory',
            format,
            manifest: paths.manifest,
            sbom: paths.sbom,
            provenance: paths.provenance,
            ...(signing ? { keyid: keyIdOf(signing.key) } : {}),
            unowned: paths.manifestData.unowned?.length ?? 0,
          },
          `wrote ${format} manifest, SBOM and provenance${signing ? ` (signed, key ${keyIdOf(signing.key).slice(0, 16)})` : ''}: ${paths.manifest}, ${paths.sbom}, ${paths.provenance}`,
        );
        checkUnowned(plan, paths.manifestData, paths.manifest, logger);
      }
    });
  } finally {
    await removeTree(tmpDir);
  }
}
