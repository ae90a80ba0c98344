import type { Command } from 'commander';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { withFileSystemErrors } from '../fs/fs-error.js';
import { measureTree } from '../fs/measure-tree.js';
import { exportRoot } from '../fs/export-root.js';
import { defaultBuildOptions, makePlan, parseTarget } from '../pipeline/plan.js';
import { preflight } from '../pipeline/preflight.js';
import { runPipeline } from '../pipeline/run-pipeline.js';
import type { StageOutcome } from '../stage/types.js';
import { cacheLayout } from '../cache/cache.js';
import { registryRefs, RegistryStageCache } from '../cache/remote/registry-cache.js';
import { formatBytes } from '../fs/disk-space.js';
import { REGISTRY_CACHE_TOOLS } from '../cache/remote/tools.js';
import { checkTools } from '../exec/host-tools.js';
import type { Logger } from '../log/logger.js';
import type { BuildPlan, OutputFormat } from '../stage/types.js';
import { describeTargets, outputPathFor } from '../stage/targets.js';
import { parseSize } from '../microvm/size.js';
import { splitWords } from '../spec/normalise.js';
import { parseHookEnv } from '../hooks/hook-env.js';
import { checkDebugShell, openDebugShell } from '../hooks/debug-shell.js';
import { digestOutput } from '../image/output-digest.js';
import { checkOutputFormats, writeOutputs } from '../image/outputs.js';
import { DISK_FORMATS } from '../image/disk-formats.js';
import { parseAge } from '../spec/normalise.js';
import { writeInventories } from '../inventory/write-inventory.js';
import { loadLockForBuild } from '../lock/use-lock.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';
import { loadRepoCheckingDrivers, runsDriversStage } from './driver-check.js';
import { MIRROR_ENV, planMirror } from '../pm/rpm-mirror.js';
import type { ResolvedSpec } from '../spec/types.js';

/**
 * --mirror, checked before any work: RPM repos only, and one it can stand in for. ISOBUILD_MIRROR
 * is its default for RPM repos and left alone by the others, so one CI environment builds both.
 */
async function checkMirror(spec: ResolvedSpec, flag: string | undefined): Promise<{ mirror?: string }> {
  const rpm = ['dnf', 'yum', 'tdnf'].includes(spec.packagemanager);
  const mirror = flag ?? (rpm ? process.env[MIRROR_ENV] : undefined);
  if (!mirror) return {};
  if (!rpm)
    throw new UsageError(
      `--mirror is for RPM repos; ${spec.name} uses ${spec.packagemanager}` +
        (spec.packagemanager === 'apt' ? ' (its mirror comes from apt sources: ISOBUILD_APT_SOURCES)' : ''),
    );
  await planMirror(spec.repoFiles, mirror);
  return { mirror };
}

interface BuildFlags {
  target: string;
  output?: string;
  export?: string;
  cache: boolean;
  force?: boolean;
  debugShell?: boolean;
  verifyCache?: boolean;
  tether?: string;
  lockTimeout: string;
  bin: string;
  cacheFrom?: string;
  cacheTo?: string;
  size?: string;
  format: string[];
  extraPackages?: string;
  refresh?: boolean;
  listsMaxAge?: string;
  locked?: boolean;
  mirror?: string;
  env: string[];
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build a repo up to a target (default: the bootstrap ISO)')
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder')
    .option('-t, --target <target>', 'what to build (targets below)', 'bootstrap')
    .option('-o, --output <path>', "where the target's (first) output goes, instead of its path under --bin")
    .option(
      '--size <bytes>',
      "rootfs.ext4's size, or a disk image's whole size, e.g. 256M (osbuilder's IMG_SIZE); default: the content plus headroom",
    )
    .option(
      '--format <formats>',
      `which of the target's outputs to write, comma-separated (a disk target: ${DISK_FORMATS.join(', ')}; default raw)`,
      (value: string, all: string[]) => [
        ...all,
        ...value
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean),
      ],
      [] as string[],
    )
    .option('--extra-packages <names>', "packages installed on top of the flavour's (osbuilder's EXTRA_PKGS)")
    .option(
      '--env <KEY=VALUE>',
      "a variable for base.sh and staging.sh, on top of the fixed ones (repeatable; KEY alone: the caller's value)",
      (pair: string, all: string[]) => [...all, pair],
      [] as string[],
    )
    .option('--export <dir|tarball>', "write the last stage's root out (a folder, or .tar/.tar.gz/.tar.zst)")
    .option('--no-cache', 'rebuild every stage (results still refresh the cache)')
    .option(
      '-f, --force',
      "rebuild the target's last stage even if cached, and rewrite the outputs (--no-cache: every stage)",
    )
    .option(
      '--verify-cache',
      "reread every file of a cached stage before reusing it (default: sizes and mtimes, artifacts' digests)",
    )
    .option(
      '--debug-shell',
      "when a stage fails, open a shell in its work root with the hook's environment (needs a terminal)",
    )
    .option('--tether <path>', "tether binary to start after switch_root (default: isobuild's own)")
    .option('--lock-timeout <seconds>', 'how long to wait for another build of the same repo', '1800')
    .option('--bin <dir>', 'output folder', 'bin')
    .option(
      '--cache-from <ref>',
      'pull stage results from this OCI registry repository (default: ISOBUILD_CACHE_REGISTRY)',
    )
    .option(
      '--cache-to <ref>',
      'push stage results to this OCI registry repository (default: ISOBUILD_CACHE_REGISTRY)',
    )
    .option('--refresh', 'fetch the package lists from the mirrors even when the cached ones are young')
    .option(
      '--lists-max-age <age>',
      "refresh package lists older than this (e.g. 6h, 1d; default: the spec's, 1d)",
    )
    .option('--locked', "install exactly the versions in the repo's isobuild.lock, checking every digest")
    .option(
      '--mirror <url>',
      `RPM repos: fetch from this mirror of the tree the .repo files' baseurls share (default: ${MIRROR_ENV})`,
    )
    .addHelpText('after', `\nTargets (default paths under --bin: docs/cli.md):\n${describeTargets()}`)
    .action(async (ref: string, flags: BuildFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      if (flags.debugShell) checkDebugShell({ json: globals.json, stdinIsTTY: process.stdin.isTTY });
      const target = parseTarget(flags.target);
      // The same spec warnings `plan` prints: a build is no place to hide them. A driver a cached
      // kernel lacks stops the build here rather than at the drivers stage after iso-base.
      const { spec, drivers } = await loadRepoCheckingDrivers(ref, reposDir(globals), logger, (s) =>
        runsDriversStage(s, target),
      );
      if (drivers) logger.debug(`drivers ${drivers.note}`);
      const lockTimeout = Number(flags.lockTimeout);
      if (!Number.isFinite(lockTimeout) || lockTimeout < 0)
        throw new UsageError('--lock-timeout takes seconds');
      const mirror = await checkMirror(spec, flags.mirror);
      const options = {
        ...defaultBuildOptions(),
        outputDir: flags.bin,
        noCache: !flags.cache,
        force: flags.force ?? false,
        verifyCache: flags.verifyCache ?? false,
        tether: flags.tether ? resolve(flags.tether) : undefined,
        lockTimeout,
        ...(flags.size !== undefined ? { imageSize: parseImageSize(flags.size) } : {}),
        ...(flags.format.length ? { formats: checkOutputFormats(flags.format) } : {}),
        ...(flags.extraPackages?.trim() ? { extraPackages: splitWords(flags.extraPackages) } : {}),
        ...(flags.env.length ? { hookEnv: parseHookEnv(flags.env) } : {}),
        listsMaxAge: flags.refresh ? 0 : flags.listsMaxAge ? parseAge(flags.listsMaxAge) : undefined,
        ...mirror,
      };
      let plan = makePlan(spec, target, options);
      await preflight(plan);
      if (flags.locked)
        plan = makePlan(spec, target, { ...options, locked: await loadLockForBuild(spec, options, logger) });
      const remote = await openRegistryCache(plan, flags, logger);
      if (remote) await checkTools(REGISTRY_CACHE_TOOLS);
      if (flags.debugShell) await checkTools([{ tool: 'bwrap', reason: '--debug-shell: sandbox the shell' }]);
      const started = Date.now();
      const result = await runPipeline(plan, logger, {
        remote,
        ...(flags.debugShell ? { onStageFailure: (failure) => openDebugShell(failure, logger) } : {}),
      });
      const destinations = Object.fromEntries(plan.outputs.map((f) => [f, outputPath(plan, f, flags)]));
      const written = await writeOutputs(
        plan,
        { artifacts: result.final.artifacts, rootfs: result.final.rootfs },
        destinations,
        logger,
      );
      const outputs = [];
      for (const [i, path] of written.entries()) {
        const digest = await digestOutput(path);
        logger.event({ type: 'output', format: plan.outputs[i], path, ...digest });
        outputs.push({ format: plan.outputs[i]!, path, digest });
      }
      await writeInventories(plan, result, outputs, logger);
      if (flags.export) {
        const from = result.final.rootfs;
        const dest = await withFileSystemErrors(
          {
            what: '--export',
            path: resolve(flags.export),
            neededBytes: async () => (await measureTree(from)).bytes,
          },
          () => exportRoot(from, flags.export!, plan.options.sourceDateEpoch),
        );
        logger.event(
          { type: 'export', path: dest },
          `exported the ${plan.stages.at(-1)?.name} root to ${dest}`,
        );
      }
      const seconds = (Date.now() - started) / 1000;
      const built = result.outcomes.filter((o) => o.status === 'built').length;
      const registry = remote && summariseRegistry(result.outcomes, remote);
      logger.event(
        {
          type: 'done',
          repo: spec.name,
          target: plan.target,
          seconds,
          stagesBuilt: built,
          registry: remote?.stats,
        },
        `${spec.name} ${plan.target}: done in ${seconds.toFixed(1)} s (${built} of ${result.outcomes.length} stages built${registry ? `; ${registry}` : ''})`,
      );
    });
}

function openRegistryCache(plan: BuildPlan, flags: BuildFlags, logger: Logger) {
  const refs = registryRefs(flags);
  return RegistryStageCache.open({
    ...refs,
    scratchDir: cacheLayout(resolve(plan.options.cacheRoot)).tmp,
    sourceDateEpoch: plan.options.sourceDateEpoch,
    logger,
  });
}

/** "7 from the registry (iso pulled, 6 before it not needed); 3 pushed, 41.2 MiB sent" */
function summariseRegistry(outcomes: readonly StageOutcome[], remote: RegistryStageCache): string {
  const parts: string[] = [];
  const pulled = outcomes.find((o) => o.status === 'pulled');
  if (pulled) {
    const skipped = outcomes.filter((o) => o.status === 'skipped').length;
    parts.push(
      `${skipped + 1} from the registry (${pulled.stage} pulled${skipped ? `, the ${skipped} before it not needed` : ''})`,
    );
  }
  if (remote.stats.pushedEntries)
    parts.push(`${remote.stats.pushedEntries} pushed, ${formatBytes(remote.stats.pushedBytes)} sent`);
  return parts.join('; ');
}

function parseImageSize(value: string): number {
  const bytes = parseSize(value);
  if (bytes === undefined) throw new UsageError(`--size ${value}: a size such as 256M, 1G or 1048576`);
  return bytes;
}

/**
 * `--output` names the target's first output (the ISO of an app build); every other output goes
 * to its default path under `--bin` (the targets table: bin/bootstrap-<repo>.iso...).
 */
export function outputPath(
  plan: BuildPlan,
  format: OutputFormat,
  flags: Pick<BuildFlags, 'output' | 'bin'>,
): string {
  if (flags.output && format === plan.outputs[0]) return resolve(flags.output);
  return resolve(outputPathFor(plan.target, format, plan.spec.name, flags.bin));
}
