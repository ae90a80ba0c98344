import type { DiskFormat } from '../stage/types.js';
import type { ResolvedSpec } from '../spec/types.js';
import { FIRECRACKER_BOOT_ARGS, MICROVM_INIT } from './layout.js';

/** Names inside the `firecracker` output folder; vm-config.json refers to them relative to it. */
export const MICROVM_FILES = {
  kernel: 'vmlinux',
  /** The bzImage beside it, for `make kernel` (osbuilder's vmlinuz.container); not part of the folder. */
  bzImage: 'vmlinuz',
  initrd: 'initrd.img',
  config: 'vm-config.json',
  rootfs: { ext4: 'rootfs.ext4', squashfs: 'rootfs.squashfs' },
} as const satisfies Record<string, unknown>;

/** The part of Firecracker's --config-file format isobuild writes and reads back. */
export interface VmConfig {
  'boot-source': { kernel_image_path: string; boot_args: string; initrd_path?: string };
  drives: { drive_id: string; path_on_host: string; is_root_device: boolean; is_read_only: boolean }[];
  'machine-config': { vcpu_count: number; mem_size_mib: number; smt: boolean };
}

/**
 * The kernel arguments. Firecracker appends `root=/dev/vda rw|ro` itself for the root drive
 * (so does `isobuild boot`); the type is named so the initrd need not probe for it.
 */
/** What a microVM's boot arguments and VM shape come from. */
export type VmConfigSpec = Pick<ResolvedSpec, 'cmdline' | 'microvm' | 'profile'>;

export function bootArgs(spec: VmConfigSpec, disk: DiskFormat): string {
  return [
    ...FIRECRACKER_BOOT_ARGS,
    `rootfstype=${disk}`,
    `init=${MICROVM_INIT}`,
    spec.cmdline,
    spec.microvm.cmdline,
  ]
    .filter((a) => a.trim() !== '')
    .join(' ');
}

/** Firecracker's --config-file: kernel, optional initrd, the root drive, the machine's shape. No network: the VMM sets it up. */
export function makeVmConfig(spec: VmConfigSpec, disk: DiskFormat, withInitrd: boolean): VmConfig {
  return {
    'boot-source': {
      kernel_image_path: MICROVM_FILES.kernel,
      boot_args: bootArgs(spec, disk),
      ...(withInitrd ? { initrd_path: MICROVM_FILES.initrd } : {}),
    },
    drives: [
      {
        drive_id: 'rootfs',
        path_on_host: MICROVM_FILES.rootfs[disk],
        is_root_device: true,
        is_read_only: disk === 'squashfs',
      },
    ],
    'machine-config': { vcpu_count: spec.microvm.vcpus, mem_size_mib: spec.microvm.memory, smt: false },
  };
}
