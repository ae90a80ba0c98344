import type { DeclaredTool } from '../exec/host-tools.js';
import type { InstalledPackage, PackageFiles, SourceIndex } from '../inventory/types.js';
import type { PackageLock } from '../lock/lock-file.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import type { KernelFile } from '../kernel/extract-kernel.js';
import type { Logger } from '../log/logger.js';
import type { StageSources } from '../stage/types.js';
import type { SpecPackageManager } from '../spec/package-managers.js';
import type { ResolvedSpec } from '../spec/types.js';

/** The spec fields every package manager reads. */
export const COMMON_PM_SPEC_FIELDS = [
  'packagemanager',
  'arch',
  'release',
  'repoDir',
  'repoFiles',
  'gpgKeys',
  'docs',
  'locales',
] as const;

/**
 * The spec fields package managers read: the common ones, and those only the adapters that
 * list them read (PackageManager.specFields). The stages that run one take these as inputs
 * (pmSpecOf), so an adapter that reads another field fails the type check.
 */
export const PM_SPEC_FIELDS = [...COMMON_PM_SPEC_FIELDS, 'apt', 'oci', 'kernel', 'kernelInstall'] as const;
export type PmSpecField = (typeof PM_SPEC_FIELDS)[number];
export type PmSpec = Pick<ResolvedSpec, PmSpecField>;

/** What an adapter needs from the running stage. */
export interface PmContext {
  spec: PmSpec;
  /** The root being populated. */
  rootfs: string;
  /** Persistent per-repo package cache (kept between builds, VIC's .yum-cache idea). */
  pkgCacheDir: string;
  /** Scratch space removed after the stage. */
  tmpDir: string;
  stage: string;
  /** SOURCE_DATE_EPOCH for what the package manager writes (the stages pass the plan's). */
  sourceDateEpoch?: number;
  /** Package lists younger than this many seconds are used as they are (0: always refresh). */
  listsMaxAge: number;
  /** `build --mirror`: the RPM managers fetch from it instead of the .repo files' servers. */
  mirror?: string;
  logger: Logger;
  /** With `build --locked`: install exactly these versions (apt pins them, the RPM managers name them). */
  lock?: PackageLock;
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** What downloadKernelBesideSetup fetched. */
export interface EarlyKernel {
  files: KernelFile[];
  /** Asked after setup: why downloadKernel might now fetch other files (apt: setup refreshed the lists), or undefined. */
  outdated(): Promise<string | undefined>;
}

/**
 * One interface, one file per package manager, registered in src/pm/index.ts as a
 * Record<PackageManagerName, PackageManager> so a missing adapter fails the type check. What the
 * spec's lifecycle asks of it (rules, release, plan rows) is SpecPackageManager's part.
 */
export interface PackageManager extends SpecPackageManager {
  /**
   * The spec fields it reads beyond COMMON_PM_SPEC_FIELDS (apt: its section and the kernel
   * switches): only these are in the keys of its stages, so another adapter's fields rebuild nothing.
   */
  readonly specFields: readonly PmSpecField[];
  /**
   * Bump when the adapter's code changes what it leaves in a root (a clean step, a filter): it is
   * in the keys of the stages that run it, so their cached roots are not reused.
   */
  readonly version: number;
  /** The package URL type of what it installs (pkg:deb, pkg:rpm). */
  readonly purlType: 'deb' | 'rpm';
  /**
   * `build --mirror`: present when the adapter fetches from a mirror instead of the spec's
   * sources; it throws when the mirror cannot stand in for them. Without it, --mirror is refused.
   */
  checkMirror?(spec: PmSpec, mirror: string): Promise<void>;
  /** Where an adapter without checkMirror takes its mirror from instead, for the refusal's message. */
  readonly mirrorFrom?: string;
  /**
   * Every host command the adapter runs for this spec, with how its version is read: part of
   * the commands of the stages that run it (preflight, key, plan, and what ctx.run allows).
   */
  tools(spec: PmSpec): DeclaredTool[];
  /** The commands `isobuild plan` shows for each operation (no side effects). */
  describe(
    spec: PmSpec,
    op: 'setup' | 'install' | 'script' | 'clean' | 'download-kernel',
    args: readonly string[],
  ): string[];
  /**
   * What the adapter adds to the keys of the stages that run it: the files it reads (sources
   * lists, repo files, keys, images) and outside facts (an environment variable, an image's
   * digest). Its tools' versions come from `tools`.
   */
  sources(spec: PmSpec): Promise<StageSources>;
  /**
   * Set up the package manager in an empty root (config, repo files, GPG keys, database)
   * and install the base packages into it.
   */
  setup(ctx: PmContext, basePackages: readonly string[]): Promise<void>;
  install(ctx: PmContext, packages: readonly string[]): Promise<void>;
  /**
   * kernel_install: files. Fetch the kernel package named by the spec (for a metapackage, the
   * kernel package it names) through the package manager into the package cache, without its
   * dependencies, and return the package files for iso-base to unpack. An adapter without it
   * installs the kernel with `install`.
   */
  downloadKernel?(ctx: PmContext, name: string): Promise<KernelFile[]>;
  /**
   * downloadKernel while `setup` is still making the root (so from no root), or undefined when
   * the adapter cannot yet (apt: its cached package lists are stale, so only setup's update
   * brings lists to fetch with). iso-base runs it beside setup and unpacks the files to a
   * scratch folder; when it fails, or setup made its result outdated, iso-base calls
   * downloadKernel after setup instead. ctx.run stops its commands when setup fails.
   */
  downloadKernelBesideSetup?(ctx: PmContext, name: string): Promise<EarlyKernel | undefined>;
  /**
   * Incremental roots (docs/cache.md): what names the package lists a root is set up from (apt:
   * a digest of the Release files in the package cache), recorded in iso-base's meta. An
   * adapter without it and addToRoot never grows a root: iso-base always sets up from nothing.
   */
  listsDigest?(ctx: PmContext): Promise<string | undefined>;
  /**
   * Install packages into a root `setup` made so that, once `clean` ran, it is the same bytes
   * as `setup` with them among the base packages would have made from the same lists. Returns
   * why it could not be made so (iso-base then sets up from nothing), or undefined.
   */
  addToRoot?(ctx: PmContext, packages: readonly string[]): Promise<string | undefined>;
  /** packages_script_staging: a package-manager subcommand with its arguments, e.g. ['erase', 'toybox']. */
  runScript(ctx: PmContext, args: readonly string[]): Promise<void>;
  /** Remove package caches and logs from the root. */
  clean(ctx: PmContext): Promise<void>;
  /**
   * Every package the root's own database lists (dpkg status, rpmdb), sorted, with the package
   * file's sha256 and origin where the package cache knows them; undefined when the root has
   * no database (a minimised root).
   */
  listInstalled(ctx: PmContext): Promise<InstalledPackage[] | undefined>;
  /** Every file each package installed, from the root's database; undefined when it has none. */
  listPackageFiles(ctx: PmContext): Promise<PackageFiles | undefined>;
  /** Every package version the spec's sources provide now, with its digest (refreshes the index). */
  querySources(ctx: PmContext): Promise<SourceIndex>;
  /**
   * `isobuild bundle` and `build --from-bundle` (docs/bundle.md); an adapter without it cannot
   * be bundled. `collect`: the files a rebuild with no network needs besides the repo folder
   * (package files, signed lists, keys, sources), from the package cache after a build that
   * installed `installed` and whose stages fetched `fetched` beside the roots (the kernel
   * stage's source package). `restore`: checks those files (extracted under `dir`) as the
   * manager would and puts them into a fresh package cache; returns the environment the build needs.
   */
  readonly bundle?: {
    collect(
      ctx: PmContext,
      installed: readonly InstalledPackage[],
      fetched: readonly FetchedPackage[],
    ): Promise<BundleParts>;
    restore(
      ctx: Pick<PmContext, 'pkgCacheDir' | 'run'>,
      dir: string,
      bundle: string,
    ): Promise<RestoredBundle>;
  };
}

/**
 * A package file a stage fetched into the package cache without installing it in a root (the
 * kernel stage's linux-source-6.1): its package name, and its file's name when the stage
 * recorded it (entries cached by older isobuilds did not).
 */
export interface FetchedPackage {
  readonly name: string;
  readonly file?: string;
}

/** A package manager's part of a bundle: each file's name in the bundle and where it is now. */
export interface BundleParts {
  readonly files: readonly { readonly name: string; readonly from: string }[];
}

/** What a restored bundle asks of the build that uses it. */
export interface RestoredBundle {
  /** Variables for the build (apt: ISOBUILD_APT_SOURCES naming the bundled sources file). */
  readonly env: Record<string, string>;
}
