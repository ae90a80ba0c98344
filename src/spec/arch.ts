import type { RepoSpec } from './repo-spec.generated.js';

/** The schema's `arch` enum: Debian's names, which OCI uses too. */
export type Arch = NonNullable<RepoSpec['arch']>;

/** The architecture a spec builds for when it names none: the host's (isobuild runs on amd64). */
export const DEFAULT_ARCH: Arch = 'amd64';

/**
 * What the build and the boot need to know about one architecture, said once. Stages read
 * these facts through the spec's `arch`, never by comparing it with a name.
 */
export interface ArchFacts {
  /** `uname -m` in a booted image. */
  readonly machine: string;
  /** RPM's name (dnf --forcearch). */
  readonly rpm: string;
  /** GRUB's platform directory and grub-mkimage --format. */
  readonly grubFormat: string;
  /** The Debian package holding that GRUB platform's modules. */
  readonly grubPackage: string;
  /** The UEFI removable-media path firmware looks for. */
  readonly efiBootFile: string;
  /** Whether the firmware can be a BIOS (isolinux, an MBR): x86 only. */
  readonly bios: boolean;
  /** The name of the first serial port's device, less its number (ttyS0, ttyAMA0: the PL011 of arm's virt machine). */
  readonly serialTty: string;
  /** The qemu system emulator. */
  readonly qemu: string;
  /** Its Debian package. */
  readonly qemuPackage: string;
  /** The binfmt_misc handler a cross build needs on this amd64 host; none: native. */
  readonly binfmt?: string;
  /** Debian's multiarch triplet: /usr/lib/<triplet>/ holds its libraries and plugins. */
  readonly multiarch: string;
  /** The glibc dynamic loader's path. */
  readonly rtld: string;
  /** What `file` says of its ELF binaries (tests and checks match on it). */
  readonly elfMachine: string;
}

export const ARCHES: Readonly<Record<Arch, ArchFacts>> = {
  amd64: {
    machine: 'x86_64',
    rpm: 'x86_64',
    grubFormat: 'x86_64-efi',
    grubPackage: 'grub-efi-amd64-bin',
    efiBootFile: 'EFI/BOOT/BOOTX64.EFI',
    bios: true,
    serialTty: 'ttyS',
    qemu: 'qemu-system-x86_64',
    qemuPackage: 'qemu-system-x86',
    multiarch: 'x86_64-linux-gnu',
    rtld: '/lib64/ld-linux-x86-64.so.2',
    elfMachine: 'x86-64',
  },
  arm64: {
    machine: 'aarch64',
    rpm: 'aarch64',
    grubFormat: 'arm64-efi',
    grubPackage: 'grub-efi-arm64-bin',
    efiBootFile: 'EFI/BOOT/BOOTAA64.EFI',
    bios: false,
    serialTty: 'ttyAMA',
    qemu: 'qemu-system-aarch64',
    qemuPackage: 'qemu-system-arm',
    binfmt: 'qemu-aarch64',
    multiarch: 'aarch64-linux-gnu',
    rtld: '/lib/ld-linux-aarch64.so.1',
    elfMachine: 'ARM aarch64',
  },
};

/** The supported names, for messages and `--arch`'s help. */
export const ARCH_NAMES = Object.keys(ARCHES) as Arch[];

export function isArch(value: string): value is Arch {
  return (ARCH_NAMES as string[]).includes(value);
}

/**
 * Debian names its kernel flavours after the architecture (linux-image-cloud-amd64,
 * linux-image-cloud-arm64): a package name ending in another architecture's suffix follows
 * the build's, so one spec builds both (`isobuild build debian-12 --arch arm64`). Other names
 * are kept as written.
 */
export function kernelPackageFor(name: string, arch: Arch): string {
  for (const other of ARCH_NAMES)
    if (other !== arch && name.endsWith(`-${other}`)) return `${name.slice(0, -other.length)}${arch}`;
  return name;
}
