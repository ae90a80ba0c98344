import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { modulesDir, readModuleIndex } from '../drivers/module-index.js';
import { closeOverDependencies, planDrivers } from '../drivers/resolve.js';
import { compressFile } from '../image/compress.js';
import { makeCpio } from '../image/cpio.js';
import { moveFile } from '../image/files.js';
import type { DiskFormat, StageContext } from '../stage/types.js';
import type { Compression } from '../spec/types.js';
import { HOST_BUSYBOX } from '../exec/host-tools.js';
import { exists } from '../fs/exists.js';
import { resolveInRoot } from '../rootfs/root-path.js';
import { INIT_BUSYBOX } from '../tether/layout.js';
import { assertShellWord, renderTemplate } from '../tether/render.js';
import { MICROVM_INIT, ROOT_DEVICE } from './layout.js';

/**
 * What the kernel needs to mount a microVM's root disk: the virtio-mmio transport, virtio-blk,
 * the root's file system, and overlayfs for a read-only root. Firecracker's guest kernels have
 * them built in; Debian's cloud kernel has all but ext4 as modules.
 */
export function microvmDrivers(disk: DiskFormat): string[] {
  return ['virtio_mmio', 'virtio_blk', disk, ...(disk === 'squashfs' ? ['overlay'] : [])];
}

/** Modules the kernel in `root` must load for `disk`, dependencies first; empty when all are built in. */
export async function microvmModules(
  root: string,
  kernelVersion: string,
  disk: DiskFormat,
): Promise<string[]> {
  const index = await readModuleIndex(root, kernelVersion);
  return planDrivers(
    index,
    microvmDrivers(disk).map((name) => ({ name, source: 'common' as const })),
  ).loadOrder;
}

/**
 * The microVM initrd: a static busybox, the modules `microvmModules` names (with their soft
 * dependencies) and templates/microvm/initrd.sh.hbs as /init, as a reproducible cpio
 * compressed like the spec's initrds. Returns its path, or undefined when the kernel needs no
 * module to reach the root (it then boots the disk directly).
 */
export async function makeMicrovmInitrd(
  ctx: StageContext,
  kernelVersion: string,
  disk: DiskFormat,
  compression: Compression,
  dest: string,
): Promise<{ path: string; modules: string[] } | undefined> {
  return makeRootInitrd(ctx, {
    kernelVersion,
    drivers: microvmDrivers(disk),
    compression,
    dest,
    rootDevice: ROOT_DEVICE,
    init: MICROVM_INIT,
  });
}

export interface RootInitrdOptions {
  kernelVersion: string;
  /** Drivers to load before the root is mounted; those the kernel has built in or lacks are left out. */
  drivers: readonly string[];
  compression: Compression;
  dest: string;
  /** The root when the command line names none: a device path, or UUID=/LABEL= (found with findfs). */
  rootDevice: string;
  /** What runs after switch_root when the command line has no init=. */
  init: string;
  /** Run the command of an attached containerfs disk in the root instead of its init (`isobuild run` on a disk image). */
  runHook?: boolean;
  /** Modules copied in but loaded only when the init needs them (efivarfs, for the run hook under UEFI). */
  onDemand?: readonly string[];
  /**
   * A writable ext4 to lay over the read-only root (UUID=…): the initrd mounts root= below it
   * and overlayfs on top. The initrd is then always made: the kernel alone cannot do that.
   */
  overlayDevice?: string;
}

/**
 * A small initrd that loads the modules the kernel needs to reach its root disk, mounts it and
 * switch_roots into it (templates/microvm/initrd.sh.hbs). Returns undefined when every driver is
 * built in: the kernel then mounts the root itself.
 */
export async function makeRootInitrd(
  ctx: StageContext,
  o: RootInitrdOptions,
): Promise<{ path: string; modules: string[] } | undefined> {
  const { kernelVersion, compression, dest } = o;
  const index = await readModuleIndex(ctx.rootfs, kernelVersion);
  const plan = (names: readonly string[]) =>
    planDrivers(
      index,
      names.map((name) => ({ name, source: 'common' as const })),
    ).loadOrder;
  const modules = plan(o.drivers);
  if (modules.length === 0 && !o.overlayDevice) return undefined;
  const onDemand = plan(o.onDemand ?? []);
  const tree = join(ctx.tmpDir, 'root-initrd');
  await rm(tree, { recursive: true, force: true });
  for (const d of ['bin', 'proc', 'sys', 'dev', 'newroot']) await mkdir(join(tree, d), { recursive: true });
  // Static (the tether stage's init layer checked it): the initrd has no libraries. The root's
  // own copy where it has the init layer: that one is of the image's architecture.
  const rootBusybox = await resolveInRoot(ctx.rootfs, INIT_BUSYBOX);
  await copyFile((await exists(rootBusybox)) ? rootBusybox : HOST_BUSYBOX, join(tree, 'bin/busybox'));
  await chmod(join(tree, 'bin/busybox'), 0o755);

  const from = modulesDir(ctx.rootfs, kernelVersion);
  const to = modulesDir(tree, kernelVersion);
  for (const m of [...closeOverDependencies(index, [...modules, ...onDemand])].sort()) {
    const file = index.files.get(m)!;
    await mkdir(dirname(join(to, file)), { recursive: true });
    await copyFile(join(from, file), join(to, file));
  }
  for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order'])
    await copyFile(join(from, f), join(to, f)).catch(() => undefined);
  await ctx.run('depmod', ['-b', tree, kernelVersion]);

  const init = await renderTemplate('microvm/initrd.sh.hbs', {
    kernelVersion: assertShellWord('kernel version', kernelVersion),
    rootDevice: rootDeviceWord(o.rootDevice),
    overlayDevice: o.overlayDevice ? rootDeviceWord(o.overlayDevice) : '',
    init: o.init,
    modules: modules.map((m) => assertShellWord('module', m)).join(' '),
    runHook: o.runHook ?? false,
  });
  await writeFile(join(tree, 'init'), init, { mode: 0o755 });

  const cpio = join(ctx.tmpDir, 'root-initrd.cpio');
  await makeCpio(tree, cpio, { sourceDateEpoch: ctx.sourceDateEpoch, ownership: 'zero' });
  await rm(dest, { force: true });
  await moveFile(await compressFile(ctx.run, compression, cpio), dest);
  await rm(tree, { recursive: true, force: true });
  return { path: dest, modules };
}

/** A device path, or UUID=/LABEL=/PARTLABEL= and a plain word: what the init script may take unquoted. */
function rootDeviceWord(device: string): string {
  const m = /^(UUID=|LABEL=|PARTLABEL=)?(.*)$/.exec(device)!;
  return (m[1] ?? '') + assertShellWord('root device', m[2]!);
}
