import type { ToolNeed } from '../exec/host-tools.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import type { Logger } from '../log/logger.js';
import type { PackageLock } from '../lock/lock-file.js';
import type { PackageManager } from '../pm/types.js';
import type { Flavour, ResolvedSpec } from '../spec/types.js';
import type { Target } from './targets.js';

/** The build's stages, in pipeline order (VIC's iso-base → staging → bootstrap/appliance). */
export const STAGE_NAMES = [
  'iso-base',
  'staging',
  'drivers',
  'minimise',
  'tether',
  'disk',
  'initrd',
  'iso',
] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/**
 * What `isobuild build --target` accepts, and what each target means (last stage, flavour, outputs
 * and their paths): one entry each in targets.ts, whose keys are the names.
 */
export { TARGETS, type Target } from './targets.js';

/** Output formats, each written by one writer in src/image/outputs.ts (linuxkit's outFuns). */
export const OUTPUT_FORMATS = [
  'iso',
  'kernel+initrd',
  'rootfs',
  'rootfs.tar',
  'rootfs.ext4',
  'rootfs.squashfs',
  'vmlinux',
  'firecracker',
] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface BuildOptions {
  /** Cache root: .isobuild/ or ISOBUILD_CACHE. */
  cacheRoot: string;
  /** Where finished outputs go (bin/). */
  outputDir: string;
  noCache: boolean;
  /** Reread every file of a cached entry before reusing it, not only sizes and mtimes. */
  verifyCache?: boolean;
  /** A user-supplied tether binary (--tether). */
  tether?: string;
  /** Seconds to wait for another build's lock; 0 fails at once. */
  lockTimeout: number;
  /** SOURCE_DATE_EPOCH for everything the build writes. */
  sourceDateEpoch: number;
  /** rootfs.ext4's size in bytes (--size, osbuilder's IMG_SIZE); else the spec's, else content + headroom. */
  imageSize?: number;
  /** Packages installed on top of the flavour's (--extra-packages, osbuilder's EXTRA_PKGS). */
  extraPackages?: readonly string[];
  /**
   * Package lists older than this many seconds are refreshed from the mirrors (0: always, as
   * --refresh asks); undefined means the spec's package_lists_max_age.
   */
  listsMaxAge?: number;
  /** `build --locked`: the repo's isobuild.lock, whose versions the package stages install. */
  locked?: PackageLock;
}

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

/** A spec compiled for a target; the target's fields come from its entry in targets.ts. */
export interface BuildPlan {
  readonly spec: ResolvedSpec;
  readonly target: Target;
  /** Which staging flavour the target builds on; 'app' builds on bootstrap. */
  readonly flavour: Flavour;
  /** Whether the target is the app appliance (issue: traced minimisation). */
  readonly app: boolean;
  /** Set when the root boots as a microVM's disk rather than from the initrd. */
  readonly microvm?: MicrovmPlan;
  readonly initrdRoot: InitrdRoot;
  /** The stages that run, in order. */
  readonly stages: readonly Stage[];
  readonly outputs: readonly OutputFormat[];
  readonly options: BuildOptions;
}

/**
 * Facts a stage learns and later stages need (the kernel version, the drivers to load...).
 * Stored beside each cache entry as meta.json and handed down the pipeline.
 */
export interface StageMeta {
  kernelVersion?: string;
  /** Drivers the init loads, in order, after resolution through modules.dep. */
  drivers?: string[];
  /** Bytes of kernel modules in the root. */
  modulesBytes?: number;
  /** Kernel arguments a stage needs on the image's command line, after the spec's `cmdline`. */
  cmdline?: string[];
  [key: string]: unknown;
}

export interface StageContext {
  readonly plan: BuildPlan;
  readonly spec: ResolvedSpec;
  readonly stage: StageName;
  /** The root being built. Writable when the stage mutates the root, else the parent's (read only). */
  readonly rootfs: string;
  /** VIC's boot tree: vmlinuz and friends that do not go into the initrd. */
  readonly bootfs: string;
  /** Files this stage produces (initrd.img, the ISO...); earlier stages' artifacts are visible here too. */
  readonly artifacts: string;
  /** Scratch space, removed when the stage ends. */
  readonly tmpDir: string;
  /** Persistent per-repo package cache. */
  readonly pkgCacheDir: string;
  /** Metadata from earlier stages; the stage may add to it. */
  readonly meta: StageMeta;
  readonly logger: Logger;
  readonly pm: PackageManager;
  /** Runs a command with this stage's name and logger attached. */
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** What decides whether a stage's cached result is still good. */
export interface CacheInputs {
  /** Spec fields and options the stage reads (JSON-serialisable). */
  values: unknown;
  /** Files whose contents the stage reads (absolute paths; folders are hashed recursively). */
  files: string[];
  /** Versions of the tools it runs. */
  toolVersions: string[];
}

/** One stage of a plan with its cache key: what a remote cache is asked about. */
export interface StageLink {
  readonly stage: StageName;
  readonly key: string;
  readonly parentKey?: string;
}

/** A local cache entry as a remote cache sees it (see pipeline/cache.ts). */
export interface EntryFiles {
  /** The entry folder (meta.json, manifest.json). */
  readonly dir: string;
  readonly rootfs: string;
  readonly bootfs: string;
  readonly artifacts: string;
  readonly meta: StageMeta;
}

/**
 * A second-level stage cache shared between machines (an OCI registry: src/cache/remote/).
 * The pipeline asks it only where the local cache misses, and only for the deepest entry
 * the build needs. Lookups and pushes never throw: a remote that fails is a warning.
 */
export interface RemoteStageCache {
  /** Where it is, for messages. */
  readonly name: string;
  /** Of these links (pipeline order), the index of the last one the remote holds, or -1. */
  findDeepest(links: readonly StageLink[]): Promise<number>;
  /** Unpack one entry's trees and artifacts into `work` (rootfs/, bootfs/, artifacts/); throws on any failure. */
  pull(link: StageLink, work: string): Promise<StageMeta>;
  /** Share a local entry unless the remote has it; may run behind the build (the pipeline awaits it before it ends). */
  push(link: StageLink, entry: EntryFiles): Promise<void>;
}

export interface Stage {
  readonly name: StageName;
  /** Bump when the stage's code changes in a way that changes its output. */
  readonly version: number;
  /** False for stages that only read the root and write artifacts (initrd, iso). */
  readonly mutatesRoot: boolean;
  /** Whether the stage takes part in this plan (minimise only when the spec asks...). */
  applies(plan: BuildPlan): boolean;
  tools(plan: BuildPlan): ToolNeed[];
  cacheInputs(plan: BuildPlan): Promise<CacheInputs>;
  /** What the stage will do, for `isobuild plan`: commands as a user could paste them. */
  describe(plan: BuildPlan): string[];
  run(ctx: StageContext): Promise<void>;
}
