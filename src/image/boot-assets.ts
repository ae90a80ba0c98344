import type { HostFile } from '../exec/host-tools.js';
import type { Arch } from '../spec/arch.js';

/** Boot loader files taken from the host's Debian packages (see HOST_FILES for their packages). */
export const ISOLINUX_BIN = '/usr/lib/ISOLINUX/isolinux.bin' satisfies HostFile;
export const LDLINUX_C32 = '/usr/lib/syslinux/modules/bios/ldlinux.c32' satisfies HostFile;
/** The MBR that lets the same image boot BIOS machines from a USB stick (isohybrid). */
export const ISOHDPFX_BIN = '/usr/lib/ISOLINUX/isohdpfx.bin' satisfies HostFile;
/** Present when grub-efi-amd64-bin is installed; grub-mkimage reads its modules from here. */
export const GRUB_EFI_MODDEP = '/usr/lib/grub/x86_64-efi/moddep.lst' satisfies HostFile;
export const GRUB_EFI_DIR = '/usr/lib/grub/x86_64-efi';
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd' satisfies HostFile;
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';
/** arm64's UEFI firmware for qemu's virt machine (Debian's qemu-efi-aarch64). */
export const AAVMF_CODE = '/usr/share/AAVMF/AAVMF_CODE.fd' satisfies HostFile;
export const AAVMF_VARS = '/usr/share/AAVMF/AAVMF_VARS.fd';

/** Each architecture's UEFI firmware: the code (read-only) and the template of its variable store. */
export const UEFI_FIRMWARE: Readonly<Record<Arch, { code: string; vars: string }>> = {
  amd64: { code: OVMF_CODE, vars: OVMF_VARS },
  arm64: { code: AAVMF_CODE, vars: AAVMF_VARS },
};

/**
 * GRUB modules built into BOOTX64.EFI: enough to find the ISO file system by label (also when
 * the image is written to a USB stick and seen through its GPT/MBR), load a Linux kernel with
 * its initrd, and talk on both the serial line and the firmware's screen.
 */
export const GRUB_MODULES = [
  'all_video',
  'configfile',
  'echo',
  'efi_gop',
  'fat',
  'iso9660',
  'linux',
  'normal',
  'part_gpt',
  'part_msdos',
  'search',
  'search_label',
  'serial',
  'terminal',
  'test',
] as const;

/** syslinux's GPT MBR: boots the partition marked legacy-BIOS-bootable (a disk image's ESP). */
export const GPTMBR_BIN = '/usr/lib/syslinux/mbr/gptmbr.bin' satisfies HostFile;
