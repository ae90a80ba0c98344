import { isoBaseStage } from '../stages/iso-base.js';
import { kernelStage } from '../stages/kernel.js';
import { stagingStage } from '../stages/staging.js';
import { driversStage } from '../stages/drivers.js';
import { minimiseStage } from '../stages/minimise.js';
import { tetherStage } from '../stages/tether.js';
import { diskImageStage } from '../stages/disk-image.js';
import { diskStage } from '../stages/disk.js';
import { initrdStage } from '../stages/initrd.js';
import { ukiStage } from '../stages/uki.js';
import { isoStage } from '../stages/iso.js';
import { STAGE_NAMES, type Stage, type StageName } from '../stage/types.js';

/**
 * Each stage's module, by name, written in pipeline order. A Record, so a name in STAGE_NAMES
 * without a module fails the type check; the order is STAGE_NAMES's (stage/names.ts), said once.
 */
const STAGES: Readonly<Record<StageName, Stage>> = {
  'iso-base': isoBaseStage, // package-manager setup, base packages, kernel, modules, depmod
  kernel: kernelStage, // kernel built from source (spec kernel object): bzImage, modules, depmod
  staging: stagingStage, // staging script, bootstrap/appliance packages, staging.sh
  drivers: driversStage, // drivers array resolved through modules.dep
  minimise: minimiseStage, // optional: keep only the files traced workloads touch
  tether: tetherStage, // init and tether layer from templates/ (or the microVM init)
  'disk-image': diskImageStage, // disk targets: a GPT disk (ESP with GRUB + syslinux, ext4 root), BIOS + UEFI
  disk: diskStage, // microVM targets: vmlinux, rootfs.ext4 / rootfs.squashfs, their initrd, vm-config.json
  initrd: initrdStage, // cpio of the root, compressed
  uki: ukiStage, // the UKI (systemd-stub + kernel + initrd + cmdline), signed with secure_boot {key, cert}
  iso: isoStage, // xorriso: isolinux (BIOS) + GRUB (UEFI), hybrid
};

/**
 * The whole build, in order. Each stage returns early from `applies` when the plan does not
 * need it; the targets table (targets.ts) says where each target stops.
 */
export const PIPELINE: readonly Stage[] = STAGE_NAMES.map((name) => STAGES[name]);

/** The stages that make a root of their own, in order: what `isobuild export --stage` takes. */
export const ROOT_STAGE_NAMES: readonly StageName[] = PIPELINE.filter((s) => s.mutatesRoot).map(
  (s) => s.name,
);
