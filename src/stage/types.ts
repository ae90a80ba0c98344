import type { DeclaredTool } from '../exec/host-tools.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import type { Logger } from '../log/logger.js';
import type { PackageLock } from '../lock/lock-file.js';
import type { ResolvedSpec } from '../spec/types.js';
import type { TargetPlanFields } from './targets.js';
import type { StageInputsRecord } from '../cache/cache-integrity.js';
import type { OutputFormat, StageName } from './names.js';

/** The plan's names (names.ts), re-exported so that stages import the whole contract from one place. */
export {
  STAGE_NAMES,
  type StageName,
  type OutputFormat,
  type DiskFormat,
  type MicrovmPlan,
  type InitrdRoot,
} from './names.js';

/**
 * What `isobuild build --target` accepts, and what each target means (last stage, flavour, outputs
 * and their paths): one entry each in targets.ts, whose keys are the names.
 */
export { TARGETS, type Target } from './targets.js';

export interface BuildOptions {
  /** Cache root: .isobuild/ or ISOBUILD_CACHE. */
  cacheRoot: string;
  /** Where finished outputs go (bin/). */
  outputDir: string;
  noCache: boolean;
  /**
   * `build --force` (mkosi's -f): the target's last stage is built again even when cached (and
   * not pulled from a registry), and the outputs are rewritten even when they hold the same bytes.
   */
  force?: boolean;
  /** Reread every file of a cached entry before reusing it, not only sizes and mtimes. */
  verifyCache?: boolean;
  /** A user-supplied tether binary (--tether). */
  tether?: string;
  /** Seconds to wait for another build's lock; 0 fails at once. */
  lockTimeout: number;
  /** SOURCE_DATE_EPOCH for everything the build writes. */
  sourceDateEpoch: number;
  /**
   * rootfs.ext4's size in bytes (--size, osbuilder's IMG_SIZE), or a disk image's whole size;
   * else the spec's, else content + headroom.
   */
  imageSize?: number;
  /** `build --format`: which of the target's outputs to write (a disk's formats). */
  formats?: readonly OutputFormat[];
  /** `build --env`: variables base.sh and staging.sh see on top of the fixed ones (docs/hooks.md). */
  hookEnv?: Readonly<Record<string, string>>;
  /** Packages installed on top of the flavour's (--extra-packages, osbuilder's EXTRA_PKGS). */
  extraPackages?: readonly string[];
  /**
   * Package lists older than this many seconds are refreshed from the mirrors (0: always, as
   * --refresh asks); undefined means the spec's package_lists_max_age.
   */
  listsMaxAge?: number;
  /**
   * `build --mirror`: where the RPM package managers fetch from instead of the .repo files'
   * servers (src/pm/rpm-mirror.ts). In no key: a mirror is a copy of the same repositories.
   */
  mirror?: string;
  /** `build --locked`: the repo's isobuild.lock, whose versions the package stages install. */
  locked?: PackageLock;
}

/**
 * A spec compiled for a target: the target's fields (flavour, microVM or disk, initrd root,
 * outputs) come from its entry in targets.ts, and are declared there once.
 */
export interface BuildPlan extends TargetPlanFields {
  readonly spec: ResolvedSpec;
  /** The stages that run, in order. */
  readonly stages: readonly Stage[];
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
  /**
   * The source the kernel stage built from: its file's name (a package file in the package
   * cache, or the repo folder's tarball) and sha256; `isobuild bundle` takes it from here.
   */
  kernelSource?: { kind: 'package' | 'tarball'; file: string; sha256: string };
  /** The key of the entry the stage's root was grown from (StageContext.growFrom), when it was. */
  grownFrom?: string;
  [key: string]: unknown;
}

/**
 * What a stage's `run` gets besides its inputs: where to work and what earlier stages found.
 * No spec and no plan: whatever run reads of those is in its inputs, hence in its cache key.
 */
export interface StageContext {
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
  /** SOURCE_DATE_EPOCH for everything the stage writes (every key holds it). */
  readonly sourceDateEpoch: number;
  /**
   * Package lists younger than this many seconds are used as they are. In no key, on purpose:
   * it decides when isobuild asks the mirrors, not what a build holds.
   */
  readonly listsMaxAge: number;
  /** `build --mirror`, in no key for the same reason (BuildOptions.mirror). */
  readonly mirror?: string;
  /** Metadata from earlier stages (their keys are in this one's); the stage may add to it. */
  readonly meta: StageMeta;
  /**
   * A cached result of this stage whose inputs differ from this run's only by what `growsBy`
   * accepts (iso-base: packages added to packages.base): the stage may start from a copy of
   * it instead of from nothing, when it can make the same bytes that way (docs/cache.md,
   * "Incremental roots"). Only for stages that declare `growsBy`; never with --no-cache.
   */
  readonly growFrom?: GrowBase;
  /** What the pipeline left out of the parent's root when it copied it (Stage.leaveOut), relative to the root. */
  readonly leftOut?: readonly string[];
  /**
   * For a stage that declares readsEarlierEntries: the artifact folders of this repo's cached
   * entries of the stage, newest first (a few). Never with --no-cache.
   */
  readonly earlier?: readonly string[];
  readonly logger: Logger;
  /** Runs a command the stage declared (Stage.commands) with its name and logger attached. */
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** A cached entry a stage may grow from (StageContext.growFrom). */
export interface GrowBase {
  /** The entry's key (its folder name after `<stage>-`). */
  readonly key: string;
  /** Its folder: the manifest there gives the digests of the files a grown root keeps. */
  readonly dir: string;
  readonly rootfs: string;
  readonly bootfs: string;
  readonly meta: StageMeta;
  /** What growsBy found added (iso-base: the package names). */
  readonly added: readonly string[];
}

/** What a stage's growsBy says of an earlier entry's inputs: what this run adds to it, or why it cannot grow from it. */
export type Growth = { readonly added: readonly string[] } | { readonly refused: string };

/**
 * A stage that threw, while its work folder still exists (`build --debug-shell` opens a shell
 * there): the context it ran with and the inputs it was given. The folder is removed once the
 * handler returns.
 */
export interface StageFailure {
  readonly plan: BuildPlan;
  readonly ctx: StageContext;
  readonly inputs: StageInputs;
  /** Whether the stage wrote its own root (else ctx.rootfs is the parent's cache entry). */
  readonly mutatesRoot: boolean;
  /**
   * Whether ctx.rootfs's files are hard links to the parent entry's (Stage.linksParentRoot), and
   * ctx.artifacts's (every stage after the first): a write into one of them changes the cache.
   */
  readonly linked: { readonly rootfs: boolean; readonly artifacts: boolean };
  readonly error: unknown;
}

/**
 * What a stage's key holds besides its inputs and its commands' versions (derived from
 * Stage.commands): the contents of the files behind the inputs (templates, the repo's
 * files) and facts found outside the spec (an image digest, an environment variable) that
 * decide its output.
 */
export interface StageSources {
  /** Absolute paths; folders are hashed recursively. */
  files: string[];
  facts?: Record<string, unknown>;
}

/** Where a stage's sources read facts from outside the spec. */
export interface KeyContext {
  /** The package cache of the plan's architecture (its apt lists: what the mirror offers now). */
  readonly pkgCacheDir: string;
}

/** What decides whether a stage's cached result is still good, as manifests record it. */
export interface CacheInputs {
  /** The stage's inputs, and its facts under `facts` (JSON-serialisable). */
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

/** A local cache entry as a remote cache sees it (see cache/cache.ts). */
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
  /**
   * Unpack one entry's trees and artifacts into `work` (rootfs/, bootfs/, artifacts/); throws on
   * any failure, a RefusedEntryError when the entry's content is bad (the entries below it may
   * still be used). A remote that cannot be reached answers -1 to findDeepest from then on.
   */
  pull(link: StageLink, work: string): Promise<StageMeta>;
  /** Share a local entry unless the remote has it; may run behind the build (the pipeline awaits it before it ends). */
  push(link: StageLink, entry: EntryFiles): Promise<void>;
}

/**
 * One step of the pipeline. `inputs` picks from the plan everything `run` reads, as plain data;
 * the cache key is the hash of those inputs and their sources plus the parent's key, so a
 * value `run` needs and the key lacks cannot be reached (run gets no spec and no plan).
 */
declare const opaque: unique symbol;
/** A stage's inputs as the pipeline holds them: only that stage's own `inputs` makes one. */
export type StageInputs = { readonly [opaque]: true };

export interface Stage<I extends object = StageInputs> {
  readonly name: StageName;
  /**
   * Bump when the stage's code changes in a way that changes its output. Not for templates,
   * profiles or tools: their content and versions are in the key already.
   */
  readonly version: number;
  /** False for stages that only read the root and write artifacts (initrd, iso). */
  readonly mutatesRoot: boolean;
  /** Whether the stage takes part in this plan (minimise only when the spec asks...). */
  applies(plan: BuildPlan): boolean;
  /** What run reads of the spec, the plan and the options: JSON, pure (`isobuild plan` shows it). */
  inputs(plan: BuildPlan): I;
  /**
   * The files and outside facts behind the inputs; hashed into the key with them. `where` says
   * where facts outside the spec are read (the package cache's lists): not an input, so the
   * key stays the same whichever folder holds the cache.
   */
  sources(inputs: I, where: KeyContext): Promise<StageSources>;
  /**
   * Every host command (and host file) run reads, each once with why and how its version is
   * read: the preflight checks them, the key holds their versions, the plan lists them, and
   * ctx.run refuses any other (src/stage/commands.ts).
   */
  commands(inputs: I): DeclaredTool[];
  /** What the stage will do, for `isobuild plan`: commands as a user could paste them. */
  describe(inputs: I): string[];
  /**
   * Stages that can grow a cached result instead of starting over (iso-base): given the values
   * an entry of this stage was built with and this run's (as the key records them; files, tool
   * versions, the stage version and SOURCE_DATE_EPOCH are compared by the pipeline), what
   * `now` adds, or why it cannot be grown from that entry.
   */
  growsBy?(was: unknown, now: unknown): Growth;
  /**
   * For a stage that mutates the root and starts by deleting part of its parent's root
   * (drivers prunes modules): those paths, relative to the root, found in the parent's root
   * (read only) from the inputs and the parent's meta. The pipeline leaves them out of the copy
   * rather than copy then delete them (ctx.leftOut says what it left out), so run must make
   * the same root whether they are there or not. Found nothing or failed: everything is copied
   * and run reports the problem.
   */
  leaveOut?(parentRoot: string, inputs: I, meta: StageMeta): Promise<readonly string[]>;
  /**
   * For a stage that mutates the root but never writes into one of its files: it only adds,
   * replaces (removing the old file first, as writeRootFile and copyIntoRoot do), removes and
   * renames, and runs programs in an overlay of it (minimise). The pipeline then hard-links the
   * parent's files into the work root instead of copying them: the parent entry's inodes are
   * never written, and the stage's copy costs a link per file, not the root's bytes.
   */
  readonly linksParentRoot?: boolean;
  /**
   * The stage reads what its earlier entries recorded (ctx.earlier): minimise reuses a trace
   * whose every read file is unchanged. What it reads must never change what it makes.
   */
  readonly readsEarlierEntries?: boolean;
  run(ctx: StageContext, inputs: I): Promise<void>;
}

/** A stage with its inputs' type checked against its own methods, as the pipeline's list holds it. */
export function defineStage<I extends object>(stage: Stage<I>): Stage {
  return stage as unknown as Stage;
}

export interface StageOutcome {
  stage: StageName;
  key: string;
  /**
   * hit: from the local cache; pulled: from the remote cache; skipped: not needed, because a
   * later stage's result was at hand; built: run here.
   */
  status: 'hit' | 'pulled' | 'skipped' | 'built';
  seconds: number;
  /** What the key was computed from (manifests record it, so `isobuild diff` can say what changed). */
  inputs: CacheInputs;
  /** The same with a digest per file, as the stage's cache entry records it. */
  record: StageInputsRecord;
}
