import type { DiskRoot } from './disk-layout.js';

/**
 * Drivers a disk's initrd loads before it looks for the root, whichever hypervisor attaches the
 * disk: virtio (KVM, Proxmox), SATA/IDE (qemu's defaults, VirtualBox), VMware's PVSCSI and
 * LSI, Hyper-V's storvsc, Xen, NVMe; then ext4. Those the kernel lacks are left out, those it
 * has built in need nothing.
 */
export const DISK_DRIVERS = [
  'virtio_pci',
  'virtio_blk',
  'virtio_scsi',
  'ahci',
  'ata_piix',
  'sd_mod',
  'nvme',
  'vmw_pvscsi',
  'mptspi',
  'hv_storvsc',
  'xen_blkfront',
  'ext4',
] as const;

/** A squashfs root's drivers on top: squashfs itself and overlayfs, which lays the overlay partition over it. */
export const SQUASHFS_ROOT_DRIVERS = ['squashfs', 'overlay'] as const;

/** Copied into the initrd, loaded only when needed: efivarfs, for `isobuild run`'s command under UEFI. */
export const ON_DEMAND_DRIVERS = ['efivarfs'] as const;

/**
 * What the drivers stage must keep in the root (modules: drivers prunes the rest) for the disk
 * initrd to find them there: the root's kind's file systems and the on-demand ones.
 */
export function diskRootDrivers(root: DiskRoot): string[] {
  return [...(root === 'squashfs' ? SQUASHFS_ROOT_DRIVERS : []), ...ON_DEMAND_DRIVERS];
}
