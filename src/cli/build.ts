import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { build } from '../build/build.js';
import { buildFromBundle } from '../build/from-bundle.js';
import { testBuild } from '../build/test-repo.js';
import { exitForReport } from './test.js';
import { checkDebugShell } from '../hooks/debug-shell.js';
import { parseHookEnv } from '../hooks/hook-env.js';
import { parseSize } from '../microvm/size.js';
import { parseTarget } from '../pipeline/build-options.js';
import { MIRROR_ENV } from '../pm/rpm-mirror.js';
import { parseAge, splitWords } from '../spec/normalise.js';
import { describeTargets } from '../stage/targets.js';
import { ARCH_NAMES, isArch, type Arch } from '../spec/arch.js';
import { checkOutputFormats } from '../image/outputs.js';
import { DISK_FORMATS } from '../image/disk-formats.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';
import { addLockTimeoutOption, parseLockTimeout } from './options.js';

interface BuildFlags {
  target: string;
  arch?: string;
  output?: string;
  export?: string;
  cache: boolean;
  force?: boolean;
  debugShell?: boolean;
  signKey?: string;
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
  fromBundle?: string;
  report?: string | true;
  test?: boolean;
  junit?: string;
}

export function registerBuild(program: Command): void {
  const command = program
    .command('build')
    .description('build a repo up to a target (default: the bootstrap ISO)')
    .argument(
      '[repo]',
      'repo name under the repos folder, or a path to a repo folder (none with --from-bundle)',
    )
    .option('-t, --target <target>', 'what to build (targets below)', 'bootstrap')
    .option(
      '--arch <arch>',
      `the architecture to build for instead of the spec's (${ARCH_NAMES.join(', ')}; arm64 is built under qemu-user, docs/arm64.md)`,
    )
    .option(
      '--from-bundle <bundle>',
      "rebuild from a bundle (isobuild bundle) alone, with no network, in a fresh cache; fails unless the outputs match the bundle's digests",
    )
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
    .option(
      '--report [file]',
      'write the HTML report of the first output (default: <output>.report.html; isobuild report)',
    )
    .option('--locked', "install exactly the versions in the repo's isobuild.lock, checking every digest")
    .option(
      '--sign-key <file>',
      "sign each output's provenance (.intoto.json) with this ed25519 or ECDSA P-256 PEM key, kept outside the repo folder (default: ISOBUILD_SIGNING_KEY)",
    )
    .option(
      '--mirror <url>',
      `RPM repos: fetch from this mirror of the tree the .repo files' baseurls share (default: ${MIRROR_ENV})`,
    )
    .option(
      '--test',
      "then boot the output and run the spec's tests of this target (isobuild test); exit 1 when one fails",
    )
    .option('--junit <file>', 'with --test: also write the results as JUnit XML')
    .addHelpText('after', `\nTargets (default paths under --bin: docs/cli.md):\n${describeTargets()}`);
  addLockTimeoutOption(command).action(async (ref: string | undefined, flags: BuildFlags, cmd: Command) => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    const logger = loggerFor(globals);
    if (flags.fromBundle) {
      if (ref) throw new UsageError('--from-bundle: the bundle names the repo; give no repo argument');
      await buildFromBundle({ bundle: flags.fromBundle, output: flags.output, outputDir: flags.bin, logger });
      return;
    }
    if (!ref) throw new UsageError('build: name a repo, or give --from-bundle <bundle>');
    if (flags.debugShell) checkDebugShell({ json: globals.json, stdinIsTTY: process.stdin.isTTY });
    if (flags.junit && !flags.test) throw new UsageError('--junit goes with --test');
    const request = {
      repo: ref,
      reposDir: reposDir(globals),
      target: parseTarget(flags.target),
      ...(flags.arch !== undefined ? { arch: parseArch(flags.arch) } : {}),
      output: flags.output,
      outputDir: flags.bin,
      exportTo: flags.export,
      noCache: !flags.cache,
      force: flags.force,
      verifyCache: flags.verifyCache,
      debugShell: flags.debugShell,
      ...(flags.signKey ? { signingKey: flags.signKey } : {}),
      tether: flags.tether,
      lockTimeout: parseLockTimeout(flags.lockTimeout),
      cacheFrom: flags.cacheFrom,
      cacheTo: flags.cacheTo,
      ...(flags.size !== undefined ? { imageSize: parseImageSize(flags.size) } : {}),
      ...(flags.format.length ? { formats: checkOutputFormats(flags.format) } : {}),
      ...(flags.extraPackages?.trim() ? { extraPackages: splitWords(flags.extraPackages) } : {}),
      ...(flags.env.length ? { hookEnv: parseHookEnv(flags.env) } : {}),
      listsMaxAge: flags.refresh ? 0 : flags.listsMaxAge ? parseAge(flags.listsMaxAge) : undefined,
      locked: flags.locked,
      mirror: flags.mirror,
      ...(flags.report ? { report: flags.report } : {}),
      logger,
    };
    const result = await build(request);
    if (!flags.test) return;
    const report = await testBuild(
      { ...request, ...(flags.junit ? { junit: flags.junit } : {}) },
      result.outputs,
    );
    if (!report) logger.warn(`--test: ${result.repo} has no tests for target ${result.target}`);
    exitForReport(report);
  });
}

function parseArch(value: string): Arch {
  if (!isArch(value))
    throw new UsageError(
      `--arch ${value}: isobuild builds ${ARCH_NAMES.join(' and ')} images (docs/arm64.md), not ${value}`,
    );
  return value;
}

function parseImageSize(value: string): number {
  const bytes = parseSize(value);
  if (bytes === undefined) throw new UsageError(`--size ${value}: a size such as 256M, 1G or 1048576`);
  return bytes;
}
