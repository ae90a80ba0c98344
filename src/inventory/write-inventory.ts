import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { exists } from '../fs/exists.js';
import { join, resolve } from 'node:path';
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
export function inventoryPaths(output: string): { manifest: string; sbom: string } {
  const base = output.replace(/\/+$/, '');
  return { manifest: `${base}.manifest.json`, sbom: `${base}.cdx.json` };
}

export function formatManifest(m: Manifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}

/** Writes `<output>.manifest.json` and the CycloneDX `<output>.cdx.json` for one written output. */
export async function writeInventory(i: ManifestInputs): Promise<{ manifest: string; sbom: string }> {
  const m = await makeManifest(i);
  const paths = inventoryPaths(i.output);
  const text = formatManifest(m);
  // The SBOM is a function of the manifest: a rebuild that changed nothing (the same manifest
  // bytes already there, the SBOM beside it) leaves both as they are.
  if ((await readFile(paths.manifest, 'utf8').catch(() => undefined)) === text && (await exists(paths.sbom)))
    return paths;
  // Loaded here, not at the top: the CycloneDX library is a third of the CLI's start-up, and only
  // a changed output needs it (`isobuild run` and no-op builds start sooner without it).
  const { makeSbom } = await import('./sbom.js');
  await writeFileWhole(paths.manifest, text);
  await writeFileWhole(paths.sbom, makeSbom(m, i.pm.purlType));
  return paths;
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
        const paths = await writeInventory({
          plan,
          format,
          output: path,
          ...(digest ? { outputDigest: digest } : {}),
          outcomes: result.outcomes,
          entries: result.entries,
          final: result.final,
          pm,
          pmContext,
        });
        logger.event(
          { type: 'inventory', format, manifest: paths.manifest, sbom: paths.sbom },
          `wrote ${format} manifest and SBOM: ${paths.manifest}, ${paths.sbom}`,
        );
      }
    });
  } finally {
    await removeTree(tmpDir);
  }
}
