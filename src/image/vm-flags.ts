import { UsageError } from '../errors.js';
import { checkTools, type ToolNeed } from '../exec/host-tools.js';
import { UEFI_FIRMWARE } from './boot-assets.js';
import { ARCHES, DEFAULT_ARCH, type Arch } from '../spec/arch.js';
import { isoArch, kernelFileArch } from './detect-arch.js';
import { BOOT_PROFILES } from './profile.js';
import { resolveBootTarget, type VmOptions } from './qemu.js';
import { OVMF_SECBOOT_CODE, OVMF_VARS_MS, secureBootFirmware } from './secure-boot-firmware.js';
import { guessMicrovmFolder } from '../microvm/folder.js';

/** The VM flags `isobuild boot` and `isobuild run` share, as commander hands them over. */
export interface VmFlags {
  uefi?: boolean;
  /** `--secure-boot [keys]`: UEFI with Secure Boot enforced; true is Microsoft's keys. */
  secureBoot?: string | true;
  /** Unset: a microVM folder's vm-config.json mem_size_mib, else DEFAULT_MEMORY_MB. */
  memory?: string;
  timeout: string;
  accel: string;
  ide?: boolean;
  append?: string;
  /** Boot the ISO as a hard disk, the way a USB stick boots. */
  usb?: boolean;
  /** Boot a folder as a microVM (qemu -M microvm) even without vm-config.json. */
  microvm?: boolean;
  /** A disk image: the guest's writes go into the file. */
  writable?: boolean;
}

export const DEFAULT_MEMORY_MB = 1024;

export function parsePositive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} ${value}: must be a positive number`);
  return n;
}

/** Checks the flags and the host tools, and resolves the image into qemu's options. */
export async function vmOptionsFrom(image: string, flags: VmFlags): Promise<Omit<VmOptions, 'disks'>> {
  if (flags.accel !== 'tcg' && flags.accel !== 'kvm')
    throw new UsageError(`--accel ${flags.accel}: tcg or kvm`);
  const target = flags.microvm ? await guessMicrovmFolder(image) : await resolveBootTarget(image);
  if ((flags.uefi || flags.secureBoot) && target.kind === 'microvm')
    throw new UsageError(
      `${flags.secureBoot ? '--secure-boot' : '--uefi'}: a microVM boots its kernel directly, without firmware`,
    );
  const secureBoot = flags.secureBoot ? secureBootFirmware(flags.secureBoot) : undefined;
  // A disk image (an ESP image too) is attached as a disk already: --usb changes nothing there.
  if (flags.usb && target.kind === 'iso') target.asDisk = true;
  else if (flags.usb && target.kind !== 'disk')
    throw new UsageError('--usb boots an ISO as a disk: a kernel+initrd or microVM folder is no disk');
  if (flags.writable && target.kind === 'disk') target.writable = true;
  else if (flags.writable)
    throw new UsageError(
      '--writable applies to a disk image: an ISO, kernel+initrd or microVM folder is booted read-only',
    );
  if (flags.append && target.kind === 'disk')
    throw new UsageError(
      '--append works only with a kernel+initrd folder: a disk image carries its own command line',
    );
  if (flags.append && target.kind === 'iso')
    throw new UsageError(
      '--append works only with a kernel+initrd folder: an ISO carries its own command line',
    );
  const arch = await targetArch(target);
  // arm64 has no BIOS: its ISOs and disks boot under UEFI, asked or not.
  const uefi =
    Boolean(flags.uefi) ||
    Boolean(secureBoot) ||
    (!ARCHES[arch].bios && target.kind !== 'microvm' && target.kind !== 'kernel');
  if (secureBoot && arch !== DEFAULT_ARCH)
    throw new UsageError(`--secure-boot: the image is ${arch}; Secure Boot is tried on ${DEFAULT_ARCH} only`);
  const needs: ToolNeed[] = [
    { tool: ARCHES[arch].qemu as ToolNeed['tool'], reason: `boot the ${arch} image` },
  ];
  if (secureBoot)
    needs.push(
      { tool: OVMF_SECBOOT_CODE, reason: 'boot with Secure Boot enforced (--secure-boot)' },
      { tool: OVMF_VARS_MS, reason: 'the enrolled keys (--secure-boot)' },
    );
  else if (uefi)
    needs.push({
      tool: UEFI_FIRMWARE[arch].code as ToolNeed['tool'],
      reason: `boot under UEFI (${arch === DEFAULT_ARCH ? '--uefi' : `${arch} firmware`})`,
    });
  await checkTools(needs);
  return {
    target,
    arch,
    uefi,
    secureBoot,
    diskInterface: flags.ide ? 'ide' : 'virtio',
    memoryMb:
      flags.memory !== undefined
        ? parsePositive(flags.memory, '--memory')
        : target.kind === 'microvm' && target.memoryMb
          ? target.memoryMb
          : DEFAULT_MEMORY_MB,
    accel: flags.accel,
    append: flags.append,
  };
}

/**
 * The image's architecture, read from its files, never from a flag: an ISO's or a folder's
 * kernel header. A disk image is taken as amd64 (the disk targets build amd64 only).
 */
async function targetArch(target: Awaited<ReturnType<typeof resolveBootTarget>>): Promise<Arch> {
  switch (target.kind) {
    case 'iso':
      return isoArch(target.iso, ISO_KERNEL_PATHS);
    case 'kernel':
    case 'microvm':
      return kernelFileArch(target.kernel).catch(() => DEFAULT_ARCH);
    case 'disk':
      return DEFAULT_ARCH;
  }
}

export function timeoutMs(flags: VmFlags): number {
  return parsePositive(flags.timeout, '--timeout') * 1000;
}

/** Where the profiles put an ISO's kernel. */
const ISO_KERNEL_PATHS = [...new Set(Object.values(BOOT_PROFILES).map((p) => p.isoKernel))];
