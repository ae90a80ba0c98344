import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { BuildError } from '../errors.js';
import type { StageContext } from '../pipeline/types.js';
import { isStaticElf } from '../fs/elf.js';
import { copyIntoRoot, linkInRoot, writeRootFile } from '../rootfs/write-in-root.js';
import {
  CONTAINER_LABEL,
  CONTAINER_MOUNT,
  INIT_SCRIPT_PATH,
  TETHER_BIN,
  TETHER_DIR,
  TETHER_SOURCE_DIR,
} from './layout.js';
import { assertShellWord, renderTemplate } from './render.js';
import { ROOT_PATH_DIRS, findCommandInRoot } from '../rootfs/root-path.js';
import { listFileSizes, tetherSizeMiB, tmpfsBytes } from './sizing.js';
import { HOST_BUSYBOX } from '../exec/host-tools.js';

/** Copies the repo's init.sh where the bootstrap init sources it. */
export async function installRepoInit(ctx: StageContext): Promise<boolean> {
  if (!ctx.spec.hooks.init) return false;
  await copyIntoRoot(
    ctx.rootfs,
    ctx.spec.hooks.init,
    INIT_SCRIPT_PATH,
    0o644,
    ctx.plan.options.sourceDateEpoch,
  );
  return true;
}

/** The root's busybox when it is static (it must run in any container), else the host's. */
export async function chooseBusybox(root: string): Promise<{ path: string; from: 'root' | 'host' }> {
  const inRoot = await findCommandInRoot(root, 'busybox');
  if (inRoot && (await isStaticElf(root + inRoot))) return { path: root + inRoot, from: 'root' };
  if (!(await isStaticElf(HOST_BUSYBOX).catch(() => false)))
    throw new BuildError(
      `the root has no static busybox and ${HOST_BUSYBOX} is not a static busybox; apt-get install busybox-static`,
      'tether',
    );
  return { path: HOST_BUSYBOX, from: 'host' };
}

/**
 * Ships what the init copies into /.tether at boot: bin/busybox and bin/tether (the user's
 * binary from --tether or the spec, else isobuild's default script).
 */
export async function installTether(ctx: StageContext): Promise<{ tether: string; busybox: string }> {
  const epoch = ctx.plan.options.sourceDateEpoch;
  const busybox = await chooseBusybox(ctx.rootfs);
  await copyIntoRoot(ctx.rootfs, busybox.path, `${TETHER_SOURCE_DIR}/bin/busybox`, 0o755, epoch);
  const userTether = ctx.plan.options.tether ?? ctx.spec.tether;
  const target = `${TETHER_SOURCE_DIR}/bin/tether`;
  if (userTether) await copyIntoRoot(ctx.rootfs, userTether, target, 0o755, epoch);
  else
    await writeRootFile(
      ctx.rootfs,
      target,
      await renderTemplate('tether/tether.sh.hbs', { tetherDir: TETHER_DIR }),
      0o755,
      epoch,
    );
  return {
    tether: userTether ?? 'isobuild default tether',
    busybox: busybox.from === 'root' ? "the root's static busybox" : `${HOST_BUSYBOX} from the host`,
  };
}

/**
 * Runs the repo's install-iptables and install-entropy in a chroot of the root, into a scratch
 * folder, exactly as the init will at boot: the build fails here, naming the command, if a file
 * they copy is missing, and the result's size is what the tether tmpfs must hold.
 */
export async function measureRepoInstall(ctx: StageContext): Promise<number[]> {
  await mkdir(join(ctx.rootfs, 'tmp'), { recursive: true });
  const scratch = await mkdtemp(join(ctx.rootfs, 'tmp', 'isobuild-tether-'));
  try {
    const inRoot = '/' + posix.relative(ctx.rootfs, scratch);
    const script = [
      'set -e',
      `. ${INIT_SCRIPT_PATH}`,
      'mkdir -p "$1/lib64" && ln -s lib64 "$1/lib"',
      'if declare -F install-iptables >/dev/null; then install-iptables "$1"; fi',
      'if declare -F install-entropy >/dev/null; then install-entropy "$1"; fi',
    ].join('\n');
    await ctx.run('chroot', [ctx.rootfs, '/bin/bash', '-c', script, 'isobuild-tether-size', inRoot], {
      cleanEnv: true,
      env: { PATH: ROOT_PATH_DIRS.join(':'), HOME: '/', LC_ALL: 'C' },
    });
    return await listFileSizes(scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export interface TetherSizing {
  sizeMiB: number;
  contentBytes: number;
}

/** VIC's tempfs sizing: the tether, the repo's installs and the published modules. */
export async function sizeTether(
  ctx: StageContext,
  kernelVersion: string,
  hasRepoInit: boolean,
): Promise<TetherSizing> {
  const sizes = [
    ...(await listFileSizes(ctx.rootfs + TETHER_SOURCE_DIR)),
    ...(hasRepoInit ? await measureRepoInstall(ctx) : []),
    ...(await listFileSizes(join(ctx.rootfs, 'lib', 'modules', kernelVersion)).catch(() => [])),
  ];
  const contentBytes = tmpfsBytes(sizes);
  return { sizeMiB: tetherSizeMiB(contentBytes), contentBytes };
}

/** Renders the bootstrap init to spec.init. */
export async function writeBootstrapInit(
  ctx: StageContext,
  opts: { kernelVersion: string; drivers: readonly string[]; sizeMiB: number; hasRepoInit: boolean },
): Promise<string> {
  const script = await renderTemplate('init/bootstrap.sh.hbs', {
    kernelVersion: assertShellWord('kernel version', opts.kernelVersion),
    drivers: opts.drivers.map((d) => assertShellWord('driver', d)),
    tetherSizeMb: opts.sizeMiB,
    repoInit: opts.hasRepoInit ? INIT_SCRIPT_PATH : '',
    containerMount: CONTAINER_MOUNT,
    containerLabel: CONTAINER_LABEL,
    tetherDir: TETHER_DIR,
    tetherSource: TETHER_SOURCE_DIR,
    tetherBin: TETHER_BIN,
    publishModules: true,
  });
  await writeRootFile(ctx.rootfs, ctx.spec.init, script, 0o755, ctx.plan.options.sourceDateEpoch);
  return script;
}

/** The kernel runs /init from an initramfs: point it at the image's init. */
export async function linkInit(ctx: StageContext, init: string): Promise<void> {
  await linkInRoot(ctx.rootfs, '/init', init, ctx.plan.options.sourceDateEpoch);
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
