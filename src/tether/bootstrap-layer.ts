import { chmod, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, stat } from 'node:fs/promises';
import { exists } from '../fs/exists.js';
import { linkDuplicates, treeMentions } from '../fs/link-duplicates.js';
import { confinementArgs, confinementFds, procArgs } from '../hooks/sandbox.js';
import { join, posix } from 'node:path';
import { BuildError } from '../errors.js';
import { tail } from '../exec/run.js';
import { bootProfile } from '../image/profile.js';
import type { StageContext } from '../stage/types.js';
import type { BootProfileName } from '../spec/types.js';
import { HOST_BUSYBOX } from '../exec/host-tools.js';
import { copyIntoRoot, linkInRoot, writeRootFile } from '../rootfs/write-in-root.js';
import { READ_EXT4_LABEL_FN } from './init-layer.js';
import {
  CONTAINER_LABEL,
  CONTAINER_MOUNT,
  INIT_BIN_DIR,
  INIT_BUSYBOX,
  INIT_SCRIPT_PATH,
  TETHER_BUSYBOX,
  TETHER_DIR,
  TETHER_INSTALLS_DIR,
  TETHER_PRECREATED_LINKS,
  TETHER_SOURCE_DIR,
  precreateTetherCommand,
} from './layout.js';
import { assertShellWord, renderTemplate } from './render.js';
import { ROOT_PATH_DIRS, findCommandInRoot } from '../rootfs/root-path.js';
import { listFileSizes, tetherSizeMiB, tmpfsBytes } from './sizing.js';

/** The repo init.sh functions the init runs with the tether folder, in VIC's order. */
export const INSTALL_FUNCTIONS = ['install-iptables', 'install-entropy'] as const;

/** What the bootstrap layer reads of the spec and the options: part of the tether stage's inputs. */
export interface BootstrapLayerInputs {
  /** The repo's init.sh, with the drivers array and the install functions. */
  readonly repoInit?: string;
  /** The user's tether binary (--tether, else the spec's); isobuild's default tether otherwise. */
  readonly tether?: string;
  readonly profile: BootProfileName;
  /** Where the bootstrap init goes when it is PID 1: the spec's init. */
  readonly init: string;
  /** init.sh's install functions run in the hooks' sandbox unless hooks.sandbox is false. */
  readonly sandboxed: boolean;
  /** hooks.network: the sandbox shares the host's network. */
  readonly network: boolean;
}

/** Copies the repo's init.sh where the bootstrap init finds it. */
export async function installRepoInit(ctx: StageContext, layer: BootstrapLayerInputs): Promise<boolean> {
  if (!layer.repoInit) return false;
  await copyIntoRoot(ctx.rootfs, layer.repoInit, INIT_SCRIPT_PATH, 0o644, ctx.sourceDateEpoch);
  return true;
}

/**
 * Ships what the init copies into /.tether at boot: bin/tether (the user's binary from --tether
 * or the spec, else isobuild's default script). The init adds its own busybox beside it.
 */
export async function installTether(
  ctx: StageContext,
  layer: BootstrapLayerInputs,
): Promise<{ tether: string }> {
  const epoch = ctx.sourceDateEpoch;
  const userTether = layer.tether;
  const { bin, aliases } = bootProfile(layer).tether;
  const target = `${TETHER_SOURCE_DIR}/${bin}`;
  if (userTether) await copyIntoRoot(ctx.rootfs, userTether, target, 0o755, epoch);
  else
    await writeRootFile(
      ctx.rootfs,
      target,
      await renderTemplate('tether/tether.sh.hbs', { tetherDir: TETHER_DIR }),
      0o755,
      epoch,
    );
  // VIC's tooling runs /.tether/unpack and /.tether/tether-debug: the tether answers for both.
  for (const alias of aliases)
    await linkInRoot(ctx.rootfs, `${TETHER_SOURCE_DIR}/${alias}`, posix.basename(bin), epoch);
  return { tether: userTether ?? 'isobuild default tether' };
}

/** Marks the commands that failed inside an install function without failing it (set -E + ERR trap). */
const FAILED_COMMAND = 'isobuild-failed-command: ';

/**
 * Runs one of the repo's install functions in a sandbox of the root (bubblewrap: /dev, /proc and
 * /sys there, as at boot; nothing mounted on the host), into `dir` laid out as VIC's bootstrap
 * lays out the tether. The function's status decides, as in VIC: a non-zero one fails the build
 * naming it and its output; commands that failed inside a function that still succeeded are
 * logged as warnings. Returns false when init.sh does not define the function.
 */
export async function runInstallFunction(
  ctx: StageContext,
  layer: BootstrapLayerInputs,
  fn: (typeof INSTALL_FUNCTIONS)[number],
  dir: string,
): Promise<boolean> {
  const bash = await findCommandInRoot(ctx.rootfs, 'bash');
  if (!bash)
    throw new BuildError(
      `the root has no bash, which runs the repo's init.sh (${layer.repoInit}): add bash to packages.base`,
      ctx.stage,
    );
  const script = [
    `. "$1" >/dev/null || exit 101`,
    `declare -F "$2" >/dev/null || exit 100`,
    `${precreateTetherCommand('3')} || exit 102`,
    'set -E',
    `trap 'echo "${FAILED_COMMAND}$BASH_COMMAND (status $?)" >&2' ERR`,
    '"$2" "$3"',
  ].join('\n');
  const res = await ctx.run(
    'bwrap',
    [
      ...['--bind', ctx.rootfs, '/', '--dev', '/dev', ...procArgs(), '--ro-bind', '/sys', '/sys'],
      // The host is not visible at all; namespaces and capabilities as the hooks' sandbox.
      ...(layer.sandboxed ? confinementArgs({ network: layer.network }) : ['--die-with-parent']),
      ...['--chdir', '/', bash, '-c', script, fn, INIT_SCRIPT_PATH, fn, dir],
    ],
    {
      cleanEnv: true,
      env: { PATH: [...ROOT_PATH_DIRS, INIT_BIN_DIR].join(':'), HOME: '/', LC_ALL: 'C' },
      allowFailure: true,
      ...(layer.sandboxed ? { extraFds: confinementFds() } : {}),
    },
  );
  const output = res.all;
  for (const line of output.split('\n'))
    if (line.startsWith(FAILED_COMMAND))
      ctx.logger.warn(`${fn}: a command failed (the function went on): ${line.slice(FAILED_COMMAND.length)}`);
  if (res.exitCode === 0) return true;
  if (res.exitCode === 100) return false;
  const what =
    res.exitCode === 101
      ? `sourcing the repo's init.sh (${layer.repoInit}) failed`
      : res.exitCode === 102
        ? `cannot lay out the tether folder ${dir}`
        : `${fn} ${dir} (from ${layer.repoInit}) failed with status ${res.exitCode}`;
  throw new BuildError(
    `${what} while sizing the tether tmpfs; its output:\n${tail(output, 25).replace(/^/gm, '  ')}`,
    ctx.stage,
  );
}

/**
 * Runs the repo's install functions into a scratch folder of the root, exactly as the init will
 * at boot: the build fails here if one fails, and the result's size is what the tether tmpfs
 * must hold.
 */
export async function measureRepoInstall(
  ctx: StageContext,
  layer: BootstrapLayerInputs,
): Promise<{ sizes: number[]; ran: string[] }> {
  await mkdir(join(ctx.rootfs, 'tmp'), { recursive: true });
  // A root made from an earlier isobuild image may hold one: only this build's run may be copied.
  await rm(join(ctx.rootfs, TETHER_INSTALLS_DIR), { recursive: true, force: true });
  const scratch = await mkdtemp(join(ctx.rootfs, 'tmp', 'isobuild-tether-'));
  try {
    const inRoot = '/' + posix.relative(ctx.rootfs, scratch);
    const ran: string[] = [];
    for (const fn of INSTALL_FUNCTIONS) if (await runInstallFunction(ctx, layer, fn, inRoot)) ran.push(fn);
    const sizes = await listFileSizes(scratch);
    if (ran.length) await keepRepoInstalls(ctx, scratch, inRoot);
    return { sizes, ran };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Keeps what the install functions made as TETHER_INSTALLS_DIR, for the init to copy into the
 * tmpfs at boot: the same functions in the same root make the same files, and running them at
 * boot under emulation took seconds (bash, the loader listing every xtables plugin, a cp per
 * library). Not kept when the output names the scratch folder (a function that wrote "$1" into
 * a file or a link would point nowhere at boot): the init then runs the functions as before.
 * Files equal to the root's are hard links to them, so the initrd stores them once.
 */
async function keepRepoInstalls(ctx: StageContext, scratch: string, inRoot: string): Promise<void> {
  const mention = await treeMentions(scratch, inRoot);
  if (mention) {
    ctx.logger.info(
      `tether: ${mention} names the build's scratch folder ${inRoot}: the init runs init.sh's install functions at boot`,
    );
    return;
  }
  const kept = join(ctx.rootfs, TETHER_INSTALLS_DIR);
  await mkdir(posix.dirname(kept), { recursive: true });
  await rename(scratch, kept);
  // `cp -a KEPT/. $TETHER/` gives the tmpfs the folder's mode (mkdtemp's 0700): the tmpfs's own.
  await chmod(kept, 0o755);
  // The init lays these out before copying; busybox cp will not write over a link.
  for (const [name, target] of TETHER_PRECREATED_LINKS)
    if ((await readlink(join(kept, name)).catch(() => undefined)) === target) await rm(join(kept, name));
  const linked = await linkDuplicates(kept, ctx.rootfs);
  ctx.logger.info(
    `tether: the install functions' output kept at ${TETHER_INSTALLS_DIR} for the init to copy at boot (${linked} files hard-linked to the root's)`,
  );
}

export interface TetherSizing {
  sizeMiB: number;
  contentBytes: number;
  /** The install functions init.sh defines (and the init will run). */
  installFunctions: string[];
}

/** VIC's tempfs sizing: the tether, busybox, the repo's installs and the published modules. */
export async function sizeTether(
  ctx: StageContext,
  layer: BootstrapLayerInputs,
  kernelVersion: string,
): Promise<TetherSizing> {
  const installs = layer.repoInit ? await measureRepoInstall(ctx, layer) : { sizes: [], ran: [] };
  const sizes = [
    ...(await listFileSizes(ctx.rootfs + TETHER_SOURCE_DIR)),
    (await stat(HOST_BUSYBOX)).size,
    ...installs.sizes,
    ...(await listFileSizes(join(ctx.rootfs, 'lib', 'modules', kernelVersion)).catch(() => [])),
  ];
  const contentBytes = tmpfsBytes(sizes);
  return { sizeMiB: tetherSizeMiB(contentBytes), contentBytes, installFunctions: installs.ran };
}

/** How the bootstrap init runs: as PID 1 from the initrd, or as a service of the root's init. */
export type InitMode = 'pid1' | 'systemd' | 'sysv';

/** Renders the bootstrap init to `path` (spec.init as PID 1, BOOTSTRAP_SERVICE_PATH as a service). */
export async function writeBootstrapInit(
  ctx: StageContext,
  layer: BootstrapLayerInputs,
  opts: {
    kernelVersion: string;
    drivers: readonly string[];
    sizeMiB: number;
    hasRepoInit: boolean;
    mode?: InitMode;
    path?: string;
  },
): Promise<string> {
  const mode = opts.mode ?? 'pid1';
  // measureRepoInstall left the install functions' output in the root: the init copies it.
  const installsKept = opts.hasRepoInit && (await exists(join(ctx.rootfs, TETHER_INSTALLS_DIR)));
  const script = await renderTemplate('init/bootstrap.sh.hbs', {
    kernelVersion: assertShellWord('kernel version', opts.kernelVersion),
    drivers: opts.drivers.map((d) => assertShellWord('driver', d)),
    tetherSizeMb: opts.sizeMiB,
    repoInit: opts.hasRepoInit && !installsKept ? INIT_SCRIPT_PATH : '',
    repoInstalls: installsKept ? TETHER_INSTALLS_DIR : '',
    initBusybox: INIT_BUSYBOX,
    initBinDir: INIT_BIN_DIR,
    labelReader: READ_EXT4_LABEL_FN,
    precreateTether: precreateTetherCommand('TETHER'),
    containerMount: CONTAINER_MOUNT,
    containerLabel: CONTAINER_LABEL,
    tetherDir: TETHER_DIR,
    tetherSource: TETHER_SOURCE_DIR,
    tetherBusybox: TETHER_BUSYBOX,
    tetherBin: `${TETHER_DIR}/${bootProfile(layer).tether.bin}`,
    logDevice: bootProfile(layer).logDevice,
    publishModules: true,
    asPid1: mode === 'pid1',
    underSystemd: mode === 'systemd',
    underSysv: mode === 'sysv',
    serviceMode: mode,
  });
  await writeRootFile(ctx.rootfs, opts.path ?? layer.init, script, 0o755, ctx.sourceDateEpoch);
  return script;
}

/** The kernel runs /init from an initramfs: point it at the image's init. */
export async function linkInit(ctx: StageContext, init: string): Promise<void> {
  await linkInRoot(ctx.rootfs, '/init', init, ctx.sourceDateEpoch);
}

/** The kernel version iso-base recorded, or the root's only /lib/modules/<version>. */
export async function kernelVersionOf(ctx: StageContext): Promise<string> {
  if (ctx.meta.kernelVersion) return ctx.meta.kernelVersion;
  const versions = await readdir(join(ctx.rootfs, 'lib', 'modules')).catch(() => [] as string[]);
  if (versions.length === 1) return versions[0]!;
  throw new BuildError(
    'no kernel version recorded by iso-base and no single /lib/modules/<version>',
    'tether',
  );
}

/** Reads back the tmpfs size a rendered init mounts with (for describe/tests). */
export async function readTetherSize(root: string, init: string): Promise<number | undefined> {
  const text = await readFile(root + init, 'utf8').catch(() => '');
  const m = /^TETHER_SIZE_MB=(\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}
