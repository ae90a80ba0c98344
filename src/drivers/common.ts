/**
 * One entry of the common list: the name VIC's list uses, then the names later kernels give the
 * same driver. The init loads the first one the kernel has, so a new kernel loads the merged
 * module and an old one (Photon's 4.x) still gets VIC's name.
 */
export type CommonDriver = readonly [name: string, ...renamed: string[]];

/**
 * Drivers every bootstrap init loads before the repo's own list.
 *
 * VIC's list comes from isos/bootstrap/bootstrap (netfilter for the container firewall, VMware
 * paravirtual NIC and SCSI). Two of its names are gone from newer kernels: Linux 4.19 merged
 * nf_conntrack_ipv4 into nf_conntrack (the per-family conntrack modules went away) and 5.1 merged
 * nf_nat_ipv4 into nf_nat (one NAT core for every family). nf_defrag_ipv4, iptable_nat,
 * ipt_REJECT and xt_state kept their names (Debian 12's 6.1 cloud kernel ships all four).
 */
export const VIC_COMMON_DRIVERS: readonly CommonDriver[] = [
  ['vmw_pvscsi'],
  ['vmxnet3'],
  ['nfnetlink'],
  ['iptable_filter'],
  ['xt_conntrack'],
  ['nf_nat_ipv4', 'nf_nat'],
  ['iptable_nat'],
  ['nf_conntrack'],
  ['nf_conntrack_ipv4', 'nf_conntrack'],
  ['nf_defrag_ipv4'],
  ['ipt_REJECT'],
  ['xt_state'],
];

/**
 * Disk and filesystem drivers the init needs to find and mount the containerfs disk. VIC relies on
 * Photon's kernel building these in; Debian's cloud kernel has them as modules.
 */
export const DISK_DRIVERS: readonly CommonDriver[] = [
  ['virtio_pci'],
  ['virtio_blk'],
  ['virtio_scsi'],
  ['ata_piix'],
  ['sd_mod'],
  ['ext4'],
];

/** The common bootstrap list, in load order. */
export const COMMON_DRIVERS: readonly CommonDriver[] = [...DISK_DRIVERS, ...VIC_COMMON_DRIVERS];
