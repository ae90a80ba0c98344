import { isoBaseStage } from '../stages/iso-base.js';
import { stagingStage } from '../stages/staging.js';
import { driversStage } from '../stages/drivers.js';
import { minimiseStage } from '../stages/minimise.js';
import { tetherStage } from '../stages/tether.js';
import { diskStage } from '../stages/disk.js';
import { initrdStage } from '../stages/initrd.js';
import { isoStage } from '../stages/iso.js';
import type { Stage, StageName, Target } from './types.js';

/**
 * The whole build, in order. Each stage returns early from `applies` when the plan does not
 * need it; `lastStageFor` says where each target stops.
 */
export const PIPELINE: readonly Stage[] = [
  isoBaseStage, // package-manager setup, base packages, kernel, modules, depmod
  stagingStage, // staging script, bootstrap/appliance packages, staging.sh
  driversStage, // drivers array resolved through modules.dep
  minimiseStage, // optional: keep only the files traced workloads touch
  tetherStage, // init and tether layer from templates/ (or the microVM init)
  diskStage, // microVM targets: vmlinux, rootfs.ext4 / rootfs.squashfs, their initrd, vm-config.json
  initrdStage, // cpio of the root, compressed
  isoStage, // xorriso: isolinux (BIOS) + GRUB (UEFI), hybrid
];

export const LAST_STAGE: Record<Target, StageName> = {
  'iso-base': 'iso-base',
  'bootstrap-staging': 'staging',
  'appliance-staging': 'staging',
  bootstrap: 'iso',
  appliance: 'iso',
  initrd: 'initrd',
  app: 'iso',
  rootfs: 'tether',
  'rootfs-tar': 'tether',
  'rootfs-ext4': 'disk',
  'rootfs-squashfs': 'disk',
  kernel: 'disk',
  image: 'disk',
  firecracker: 'disk',
  celestial: 'disk',
};
