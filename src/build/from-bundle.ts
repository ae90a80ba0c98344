import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loggerFor } from './events.js';
import type { ReportTo } from './request.js';
import { cacheLayout } from '../cache/cache.js';
import { BundleError } from '../errors.js';
import { checkTools, type ToolNeed } from '../exec/host-tools.js';
import { run } from '../exec/run.js';
import type { LogEvent, Logger } from '../log/logger.js';
import { OFFLINE_ENV } from '../pm/apt.js';
import { packageManagerFor } from '../pm/index.js';
import { VERSION } from '../version.js';
import { parseBundleConfig, type BundleConfig } from '../bundle/bundle-config.js';
import { extractFiles, openBundle } from '../bundle/bundle-layout.js';
import { checkKernelSource } from '../bundle/kernel-source.js';

/** The CLI the rebuild runs in its own network namespace (dist/cli/main.js, beside this module's folder). */
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** What a rebuild from a bundle runs besides the build itself (`isobuild doctor` lists them too). */
export const FROM_BUNDLE_TOOLS: readonly ToolNeed[] = [
  { tool: 'unshare', reason: '--from-bundle: run the build with no network' },
  { tool: 'gpgv', reason: '--from-bundle: check the bundled package lists are signed' },
];

export interface FromBundleRequest extends ReportTo {
  /** The bundle: an OCI layout folder or its tar, as `isobuild bundle` wrote it. */
  bundle: string;
  /** Where the target's first output goes (as `build -o`). */
  output?: string;
  /** Where the outputs go (as `build --bin`). Default: bin. */
  outputDir?: string;
  /** A folder for the fresh cache and the unpacked bundle, removed afterwards. Default: the system's temp folder. */
  workDir?: string;
}

export interface RebuiltOutput {
  format: string;
  path: string;
  sha256: string;
}

export interface FromBundleResult {
  repo: string;
  target: string;
  outputs: RebuiltOutput[];
  seconds: number;
}

/**
 * `isobuild build --from-bundle`: checks every file of the bundle against its manifest, puts
 * the repo folder and the package manager's files (checked as the manager would: signatures,
 * list digests) into a fresh cache, runs the build in a network namespace of its own with no
 * network (`unshare -n`), and compares each output with the digest the bundle recorded. Any
 * difference, or anything the build had to fetch, fails naming it.
 */
export async function buildFromBundle(request: FromBundleRequest): Promise<FromBundleResult> {
  const logger = loggerFor(request);
  const bundle = resolve(request.bundle);
  await checkTools(FROM_BUNDLE_TOOLS);
  const parent = resolve(request.workDir ?? process.env.TMPDIR ?? '/tmp');
  await mkdir(parent, { recursive: true });
  const work = await mkdtemp(join(parent, 'isobuild-from-bundle-'));
  try {
    const primed = await primeFromBundle(bundle, work, logger);
    const { config } = primed;
    const started = Date.now();
    const outputs = await rebuildOffline(config, {
      ...primed,
      bundle,
      request,
      logger,
    });
    for (const recorded of config.outputs) {
      const got = outputs.find((o) => o.format === recorded.format);
      if (!got)
        throw new BundleError(`the rebuild wrote no ${recorded.format} output (${recorded.name})`, {
          bundle,
          file: 'config',
        });
      if (got.sha256 !== recorded.sha256)
        throw new BundleError(
          `the rebuilt ${recorded.format} ${got.path} has sha256 ${got.sha256}; the bundle records ${recorded.sha256} for ${recorded.name}`,
          { bundle, file: 'config' },
        );
    }
    const seconds = (Date.now() - started) / 1000;
    logger.event(
      { type: 'from-bundle', bundle, repo: config.repo, target: config.target, seconds, outputs },
      `${config.repo} ${config.target}: rebuilt from ${bundle} with no network in ${seconds.toFixed(1)} s; ` +
        `${outputs.length} output(s) match the bundle's digests`,
    );
    return { repo: config.repo, target: config.target, outputs, seconds };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A bundle checked and unpacked into `work`, ready for the offline build. */
export interface PrimedBundle {
  config: BundleConfig;
  /** The repo folder, under `work/repos/`. */
  repoDir: string;
  /** The fresh stage cache whose package cache the package manager's files went into. */
  cache: string;
  /** What the build needs to find them (apt: ISOBUILD_APT_SOURCES naming the bundled sources). */
  env: Record<string, string>;
}

/**
 * Checks every file of the bundle against its manifest, unpacks it into `work`, checks the kernel
 * source its config names is there, and has the package manager check its files as it would
 * (signatures, list digests) and put them into a fresh cache (`work/cache`): everything the
 * offline build reads, before it runs.
 */
export async function primeFromBundle(bundle: string, work: string, logger: Logger): Promise<PrimedBundle> {
  const opened = await openBundle(bundle, work);
  let config: BundleConfig;
  const files = join(work, 'files');
  try {
    config = parseBundleConfig(opened.config, bundle);
    await extractFiles(opened, '', files);
  } finally {
    await opened.close();
  }
  logger.info(`${bundle}: ${opened.files.size} files match the bundle's manifest`);
  if (config.isobuild !== VERSION)
    logger.warn(
      `the bundle was made by isobuild ${config.isobuild}, this is ${VERSION}: the bytes may differ`,
    );
  await checkKernelSource(config.kernelSource, files, bundle);
  const repoDir = join(work, 'repos', config.repoFolder);
  await mkdir(join(work, 'repos'));
  await rename(join(files, 'repo'), repoDir);
  const cache = join(work, 'cache');
  const pm = packageManagerFor(config.packagemanager);
  if (!pm.bundle)
    throw new BundleError(`${config.packagemanager} repos cannot be rebuilt from a bundle`, { bundle });
  const restored = await pm.bundle.restore(
    { pkgCacheDir: cacheLayout(cache).packages, run: (f, a, o) => run(f, a, { logger, ...o }) },
    files,
    bundle,
  );
  return { config, repoDir, cache, env: restored.env };
}

/**
 * The build, by isobuild's own CLI in a new network namespace (only loopback, down): nothing it
 * runs can reach a mirror, so a file the bundle lacks fails the build instead of being fetched.
 * Its events are passed on to our logger once it ends.
 */
async function rebuildOffline(
  config: BundleConfig,
  o: {
    repoDir: string;
    cache: string;
    env: Record<string, string>;
    bundle: string;
    request: FromBundleRequest;
    logger: Logger;
  },
): Promise<RebuiltOutput[]> {
  const { request, logger } = o;
  const args = [
    ...['-n', '--', process.execPath, CLI, '--json', 'build', o.repoDir, '--target', config.target],
    ...['--bin', resolve(request.outputDir ?? 'bin')],
    ...(request.output ? ['--output', resolve(request.output)] : []),
  ];
  const env = {
    // A remote stage cache would be a way around the bundle (and the network is gone anyway);
    // the caller's mirror or apt sources are not the bundle's (the adapter's env sets its own).
    ISOBUILD_CACHE_REGISTRY: undefined,
    ISOBUILD_MIRROR: undefined,
    ISOBUILD_APT_SOURCES: undefined,
    ...o.env,
    ISOBUILD_CACHE: o.cache,
    [OFFLINE_ENV]: '1',
    SOURCE_DATE_EPOCH: String(config.sourceDateEpoch),
  };
  logger.info(`rebuilding ${config.repo} ${config.target} with no network (unshare -n), in a fresh cache`);
  const res = await run('unshare', args, { env, logger, allowFailure: true, stage: 'from-bundle' });
  const events = res.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogEvent);
  for (const ev of events) {
    if (ev.type === 'log') logAt(logger, String(ev.level), String(ev.message));
    else if (ev.type !== 'error') logger.event(ev);
  }
  if (res.exitCode !== 0) {
    const error = events.find((e) => e.type === 'error');
    throw new BundleError(
      `the rebuild with no network failed (the bundle may lack a file it fetches): ` +
        `${String(error?.message ?? res.all.trim().split('\n').slice(-10).join('\n'))}`,
      { bundle: o.bundle },
    );
  }
  return events
    .filter((e) => e.type === 'output')
    .map((e) => ({ format: String(e.format), path: String(e.path), sha256: String(e.sha256) }));
}

/** A log event of the rebuild, at its own level (`[from-bundle]` in front, so it reads as the inner build's). */
function logAt(logger: Logger, level: string, message: string): void {
  const line = `[from-bundle] ${message}`;
  if (level === 'warn') logger.warn(line);
  else if (level === 'error') logger.error(line);
  else if (level === 'info') logger.info(line);
  else logger.debug(line);
}
