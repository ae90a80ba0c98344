import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { UsageError } from '../errors.js';
import { exists } from '../fs/exists.js';
import { FIRECRACKER_BOOT_ARGS, MICROVM_INIT, ROOT_DEVICE } from './layout.js';
import { MICROVM_FILES, type VmConfig } from './vm-config.js';

/** A microVM as qemu -M microvm boots it: what Firecracker would read from vm-config.json. */
export interface MicrovmTarget {
  kind: 'microvm';
  kernel: string;
  initrd?: string;
  /** boot_args plus root=/dev/vda rw|ro, which Firecracker adds for the root drive. */
  cmdline: string;
  drives: { path: string; readOnly: boolean }[];
  /** machine-config.mem_size_mib: what Firecracker would give it. */
  memoryMb?: number;
}

/** Whether `dir` is a microVM folder by its contents (vm-config.json). */
export async function isMicrovmFolder(dir: string): Promise<boolean> {
  return exists(join(dir, MICROVM_FILES.config));
}

function fail(dir: string, what: string): never {
  throw new UsageError(`${join(dir, MICROVM_FILES.config)}: ${what}`);
}

/** Reads a folder's vm-config.json (Firecracker's --config-file), paths relative to the folder. */
export async function readMicrovmFolder(dir: string): Promise<MicrovmTarget> {
  const file = join(dir, MICROVM_FILES.config);
  let config: Partial<VmConfig>;
  try {
    config = JSON.parse(await readFile(file, 'utf8')) as Partial<VmConfig>;
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
  const at = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  const boot = config['boot-source'];
  if (!boot?.kernel_image_path) fail(dir, '/boot-source/kernel_image_path is missing');
  const drives = config.drives ?? [];
  const root = drives.find((d) => d.is_root_device);
  const ordered = root ? [root, ...drives.filter((d) => d !== root)] : drives;
  const target: MicrovmTarget = {
    kind: 'microvm',
    kernel: at(boot.kernel_image_path),
    ...(boot.initrd_path ? { initrd: at(boot.initrd_path) } : {}),
    cmdline: [
      boot.boot_args ?? FIRECRACKER_BOOT_ARGS.join(' '),
      ...(root ? [`root=${ROOT_DEVICE}`, root.is_read_only ? 'ro' : 'rw'] : []),
    ].join(' '),
    drives: ordered.map((d) => ({ path: at(d.path_on_host), readOnly: Boolean(d.is_read_only) })),
    ...(config['machine-config']?.mem_size_mib ? { memoryMb: config['machine-config'].mem_size_mib } : {}),
  };
  for (const f of [
    target.kernel,
    ...(target.initrd ? [target.initrd] : []),
    ...target.drives.map((d) => d.path),
  ])
    if (!(await exists(f))) fail(dir, `names ${f}, which does not exist`);
  return target;
}

/**
 * `--microvm` on a folder without vm-config.json: vmlinux (or vmlinuz), rootfs.ext4 or
 * rootfs.squashfs, an optional initrd.img, booted with Firecracker's arguments and our init.
 */
export async function guessMicrovmFolder(dir: string): Promise<MicrovmTarget> {
  if (await isMicrovmFolder(dir)) return readMicrovmFolder(dir);
  const kernel = [MICROVM_FILES.kernel, 'vmlinuz'].map((n) => join(dir, n));
  const found = await Promise.all(kernel.map(exists));
  const k = kernel[found.indexOf(true)];
  if (!k) throw new UsageError(`${dir}: --microvm needs vmlinux (or vmlinuz) in the folder`);
  let image: { path: string; type: 'ext4' | 'squashfs' } | undefined;
  for (const type of ['ext4', 'squashfs'] as const)
    if (!image && (await exists(join(dir, MICROVM_FILES.rootfs[type]))))
      image = { path: join(dir, MICROVM_FILES.rootfs[type]), type };
  if (!image) throw new UsageError(`${dir}: --microvm needs rootfs.ext4 or rootfs.squashfs in the folder`);
  const initrd = join(dir, MICROVM_FILES.initrd);
  const ro = image.type === 'squashfs';
  return {
    kind: 'microvm',
    kernel: k,
    ...((await exists(initrd)) ? { initrd } : {}),
    cmdline: [
      ...FIRECRACKER_BOOT_ARGS,
      `rootfstype=${image.type}`,
      `init=${MICROVM_INIT}`,
      `root=${ROOT_DEVICE}`,
      ro ? 'ro' : 'rw',
    ].join(' '),
    drives: [{ path: image.path, readOnly: ro }],
  };
}
