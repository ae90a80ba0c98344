import { isoBaseStage } from '../stages/iso-base.js';
import { kernelStage } from '../stages/kernel.js';
import { stagingStage } from '../stages/staging.js';
import { driversStage } from '../stages/drivers.js';
import { minimiseStage } from '../stages/minimise.js';
import { tetherStage } from '../stages/tether.js';
import { diskStage } from '../stages/disk.js';
import { initrdStage } from '../stages/initrd.js';
import { isoStage } from '../stages/iso.js';
import type { Stage } from '../stage/types.js';

/**
 * The whole build, in order. Each stage returns early from `applies` when the plan does not
 * need it; the targets table (targets.ts) says where each target stops.
 */
export const PIPELINE: readonly Stage[] = [
  isoBaseStage, // package-manager setup, base packages, kernel, modules, depmod
  kernelStage, // kernel built from source (spec kernel object): bzImage, modules, depmod
  stagingStage, // staging script, bootstrap/appliance packages, staging.sh
  driversStage, // drivers array resolved through modules.dep
  minimiseStage, // optional: keep only the files traced workloads touch
  tetherStage, // init and tether layer from templates/ (or the microVM init)
  diskStage, // microVM targets: vmlinux, rootfs.ext4 / rootfs.squashfs, their initrd, vm-config.json
  initrdStage, // cpio of the root, compressed
  isoStage, // xorriso: isolinux (BIOS) + GRUB (UEFI), hybrid
];
