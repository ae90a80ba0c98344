/**
 * The names a plan is made of (stages, output formats, initrd roots): a leaf, so that the targets
 * table and the stage contract (types.ts) both build on it without importing each other.
 */

/**
 * The build's stages, in pipeline order (VIC's iso-base → staging → bootstrap/appliance): the one
 * list of them. The pipeline (src/pipeline/stages.ts) takes its order from it and holds a module
 * for each name; the targets table and the output writers name stages from it.
 */
export const STAGE_NAMES = [
  'iso-base',
  'kernel',
  'staging',
  'drivers',
  'minimise',
  'tether',
  'disk-image',
  'disk',
  'initrd',
  'uki',
  'iso',
] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/**
 * Output formats, each written by one writer in src/image/outputs.ts (linuxkit's outFuns): their
 * map is keyed by this type, and the list of formats is its keys (OUTPUT_FORMATS there).
 */
export type OutputFormat =
  | 'iso'
  | 'kernel+initrd'
  // A Unified Kernel Image: systemd-stub with the kernel, initrd, cmdline and os-release (uki stage).
  | 'uki'
  | 'rootfs'
  | 'rootfs.tar'
  | 'rootfs.ext4'
  | 'rootfs.squashfs'
  | 'vmlinux'
  | 'vmlinuz'
  | 'firecracker'
  // One GPT disk (the disk-image stage's) in qemu-img's formats: src/image/disk-formats.ts.
  | 'raw'
  | 'qcow2'
  | 'vmdk'
  | 'vhdx'
  | 'vpc'
  // The vmdk with an OVF descriptor and manifest, for vSphere: src/image/ova.ts.
  | 'ova';

/** The root file system a microVM boots from: ext4 read-write, or squashfs read-only under a tmpfs overlay. */
export type DiskFormat = 'ext4' | 'squashfs';

/**
 * A root that boots from a disk (Firecracker, qemu -M microvm) instead of from the initrd: the
 * tether stage writes the microVM init, the disk stage the images (docs/microvm.md).
 */
export interface MicrovmPlan {
  /** The root image the disk stage makes; none for the kernel alone. */
  readonly disk?: DiskFormat;
}

/**
 * What the initrd's root is. `small`: only what the init layer, init.sh and the tether use,
 * when the spec keeps `bootstrap_initrd: small` (the default) and does not boot the distro's own
 * init; `full`: the whole root (appliances boot it with systemd; the app target minimises it its
 * own way); `none`: the target makes no initrd root (staging roots; microVM roots boot from a disk).
 */
export type InitrdRoot = 'small' | 'full' | 'none';
