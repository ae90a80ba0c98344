import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { build } from './build.js';
import { loggerFor } from './events.js';
import { buildOptionsFor, type RepoRequest } from './request.js';
import { buildStagesOf, loadSpec } from './stages.js';
import { cacheLayout } from '../cache/cache.js';
import { withPackageCache } from '../cache/package-cache.js';
import { UsageError } from '../errors.js';
import { packageKey, type InstalledPackage } from '../inventory/types.js';
import { LOCK_FILE, makeLock, writeLock } from '../lock/lock-file.js';
import { packageManagerFor } from '../pm/index.js';
import { standalonePmContext } from '../pm/pm-context.js';
import type { Target } from '../stage/types.js';
import { VERSION } from '../version.js';
import { writeBundle, type BundleFile } from '../bundle/bundle-layout.js';
import { BUNDLE_VERSION, type BundleConfig } from '../bundle/bundle-config.js';
import { fetchedPackagesOf, kernelSourceRecord } from '../bundle/kernel-source.js';

export interface BundleRequest extends RepoRequest {
  /** What the bundle rebuilds. Default: 'bootstrap'. */
  target?: Target;
  /** Where the bundle goes: an OCI layout folder, or its tar when the name ends in .tar. */
  bundle: string;
  /** Where the build's outputs go (as `build --bin`). */
  outputDir?: string;
}

export interface MadeBundle {
  bundle: string;
  /** The bundle manifest's digest: the same inputs give the same one. */
  digest: string;
  files: number;
  /** Bytes of the files in it. */
  bytes: number;
}

/** Every regular file of the repo folder, as bundle entries under `repo/`. */
async function repoFiles(repoDir: string): Promise<BundleFile[]> {
  const out: BundleFile[] = [];
  for (const entry of await readdir(repoDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const from = join(entry.parentPath ?? entry.path, entry.name);
    out.push({ name: `repo/${relative(repoDir, from)}`, from });
  }
  return out;
}

/**
 * `isobuild bundle`: builds the target (or takes it from the cache), then writes everything a
 * rebuild with no network needs into one OCI layout: the repo folder, a lock of every package
 * any of its roots installed, the package manager's part (package files, the kernel's source
 * package, signed lists, keys, sources) and the outputs' digests the rebuild must match
 * (docs/bundle.md).
 */
export async function makeBundle(request: BundleRequest): Promise<MadeBundle> {
  const logger = loggerFor(request);
  const target = request.target ?? 'bootstrap';
  const spec = await loadSpec(request, logger);
  const pm = packageManagerFor(spec.packagemanager);
  const collect = pm.bundle?.collect;
  if (!collect)
    throw new UsageError(`${spec.name}: ${spec.packagemanager} repos cannot be bundled yet (docs/bundle.md)`);
  const built = await build({ ...request, target });
  const options = buildOptionsFor(request);
  const layout = cacheLayout(resolve(options.cacheRoot));
  const { plan, result } = await buildStagesOf(spec, { target }, options, logger);
  const buildsKernel = plan.stages.some((s) => s.name === 'kernel');
  const fetched = fetchedPackagesOf(spec, buildsKernel, result.final.meta);
  await mkdir(layout.tmp, { recursive: true });
  const scratch = await mkdtemp(join(layout.tmp, `${spec.name}-bundle-`));
  try {
    const ctx = standalonePmContext({
      spec,
      rootfs: result.final.rootfs,
      pkgCacheDir: layout.packages,
      tmpDir: scratch,
      stage: 'bundle',
      logger,
    });
    const installed = new Map<string, InstalledPackage>();
    const parts = await withPackageCache(ctx, async () => {
      const seen = new Set<string>();
      // Every root the package manager wrote, not only the last: a package staging erased was installed by iso-base.
      for (const entry of result.entries) {
        if (!entry || seen.has(entry.dir)) continue;
        seen.add(entry.dir);
        for (const p of (await pm.listInstalled({ ...ctx, rootfs: entry.rootfs })) ?? [])
          installed.set(packageKey(p), p);
      }
      return collect(ctx, [...installed.values()], fetched);
    });
    const kernelSource = await kernelSourceRecord(spec, buildsKernel, fetched, parts.files);
    const lockFile = join(scratch, LOCK_FILE);
    const locked = [...installed.values()].map((p) => ({ ...p, sha256: p.sha256 ?? '' }));
    await writeLock(lockFile, makeLock(spec, locked));
    const config: BundleConfig = {
      bundleVersion: BUNDLE_VERSION,
      isobuild: VERSION,
      repo: spec.name,
      repoFolder: basename(spec.repoDir),
      packagemanager: spec.packagemanager,
      target,
      sourceDateEpoch: options.sourceDateEpoch,
      outputs: built.outputs.map((o) => ({ format: o.format, name: basename(o.path), ...o.digest })),
      ...(kernelSource ? { kernelSource } : {}),
    };
    const files = [...(await repoFiles(spec.repoDir)), { name: LOCK_FILE, from: lockFile }, ...parts.files];
    const digest = await writeBundle(request.bundle, files, config, {
      tag: `${spec.name}-${target}`,
      sourceDateEpoch: options.sourceDateEpoch,
    });
    let bytes = 0;
    for (const f of files) bytes += (await stat(f.from)).size;
    const path = resolve(request.bundle);
    logger.event(
      { type: 'bundle', repo: spec.name, target, path, digest, files: files.length, bytes },
      `${spec.name} ${target}: bundled ${files.length} files (${(bytes / 2 ** 20).toFixed(1)} MiB) in ${path}`,
    );
    return { bundle: path, digest, files: files.length, bytes };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
