/**
 * Drivers every bootstrap init loads before the repo's own list.
 *
 * VIC's list comes from isos/bootstrap/bootstrap (netfilter for the container firewall, VMware
 * paravirtual NIC and SCSI). Names change between kernels (nf_nat_ipv4 and nf_conntrack_ipv4 were
 * folded into nf_nat and nf_conntrack in 5.x), so a kernel lacking one of these only warns.
 */
export const VIC_COMMON_DRIVERS = [
  'vmw_pvscsi',
  'vmxnet3',
  'nfnetlink',
  'iptable_filter',
  'xt_conntrack',
  'nf_nat_ipv4',
  'iptable_nat',
  'nf_conntrack',
  'nf_conntrack_ipv4',
  'nf_defrag_ipv4',
  'ipt_REJECT',
  'xt_state',
] as const;

/**
 * Disk and filesystem drivers the init needs to find and mount the containerfs disk. VIC relies on
 * Photon's kernel building these in; Debian's cloud kernel has them as modules.
 */
export const DISK_DRIVERS = [
  'virtio_pci',
  'virtio_blk',
  'virtio_scsi',
  'ata_piix',
  'sd_mod',
  'ext4',
] as const;

/** The common bootstrap list, in load order. */
export const COMMON_DRIVERS: readonly string[] = [...DISK_DRIVERS, ...VIC_COMMON_DRIVERS];
