import type { ImageRef } from '../oci/image-ref.js';
import type { RepoSpec } from './repo-spec.generated.js';
import type { Arch } from './arch.js';

export type { RepoSpec };

/** The schema's packagemanager enum: each has an adapter in src/pm/ (its table is keyed by these). */
export type PackageManagerName = RepoSpec['packagemanager'];

/** What the staging stage installs on top of iso-base. */
export const FLAVOURS = ['bootstrap', 'appliance'] as const;
export type Flavour = (typeof FLAVOURS)[number];

export type Compression = 'lz4' | 'gzip' | 'zstd' | 'xz';
/** The boot contracts an image can follow (src/image/profile.ts). */
export type BootProfileName = 'isobuild' | 'vic';
/** What a spec may ask for: a compression, or `auto` (the best one the kernel decompresses). */
export type CompressionChoice = Compression | 'auto';

/** A target a boot test can name (the schema's enum: the targets table's names). */
export type BootTestTarget = NonNullable<NonNullable<RepoSpec['tests']>[number]['target']>;

/** One of the spec's `tests`, with its defaults. */
export interface BootTestSpec {
  readonly name: string;
  /** A POSIX sh command line. */
  readonly run: string;
  /** The pattern the output must match (JavaScript, multiline); absent: any output. */
  readonly expect?: string;
  readonly exit: number;
  readonly target: BootTestTarget;
  readonly timeoutSeconds: number;
}

/** The size budgets are in bytes; what each measures is in docs/testing-images.md. */
export interface Budget {
  readonly initrd?: number;
  readonly iso?: number;
  readonly rootfs?: number;
  readonly bootSeconds?: number;
}

/** The budgets a stage's result is measured against, by what it measures. */
export type SizeBudgetName = 'initrd' | 'iso' | 'rootfs';

/** packagemanager oci: where the root comes from. */
export type OciSource =
  | { kind: 'image'; ref: ImageRef; text: string }
  | { kind: 'dockerfile'; path: string; context: string };

export type KernelSource =
  | { kind: 'package'; name: string }
  | { kind: 'file'; path: string; format: 'rpm' | 'deb' }
  | KernelBuildSpec;

/** A kernel the kernel stage builds from source (the spec's `kernel` object; docs/kernel.md). */
export interface KernelBuildSpec {
  readonly kind: 'build';
  /** A source package (linux-source-6.1) or a tarball in the repo folder (absolute path). */
  readonly source:
    | { readonly kind: 'package'; readonly name: string }
    | { readonly kind: 'tarball'; readonly path: string; readonly sha256?: string };
  /** A preset of src/kernel/kconfig/ or a full .config in the repo folder (absolute path). */
  readonly config:
    | { readonly kind: 'preset'; readonly name: string }
    | { readonly kind: 'file'; readonly path: string };
  /** Absolute paths of Kconfig fragments, merged in order. */
  readonly fragments: readonly string[];
  /** builtin: drivers — the drivers array becomes =y. */
  readonly builtinDrivers: boolean;
}

/**
 * A spec after parse → schema → normalise → semantic rules. Frozen; every path absolute;
 * every default applied, so stages never look at the raw document.
 */
export interface ResolvedSpec {
  readonly name: string;
  /** Absolute path of the repo folder. */
  readonly repoDir: string;
  /** Absolute path of repo-spec.json / .yaml / .yml. */
  readonly specFile: string;
  readonly packagemanager: PackageManagerName;
  /** The architecture the image is for (the spec's `arch`, or `build --arch`); src/spec/arch.ts. */
  readonly arch: Arch;
  readonly kernel: KernelSource;
  /** packagemanager oci only: the image or Dockerfile the root comes from. */
  readonly oci?: OciSource;
  readonly init: string;
  /** RPM releasever or apt suite. */
  readonly release: string;
  /** Where the release came from ("the spec", "the suite of repos/x/sources.list"...): plan says it. */
  readonly releaseFrom?: string;
  readonly packages: Readonly<Record<'base' | Flavour, readonly string[]>>;
  /** packages_script_staging split into arguments, e.g. ['erase', 'toybox']. */
  readonly stagingScript: Readonly<Record<Flavour, readonly string[]>>;
  /** Absolute paths of the repo's *.repo files (rpm package managers). */
  readonly repoFiles: readonly string[];
  /** Absolute paths of GPG keys in the repo folder (*.gpg, *.asc, *GPG-KEY*). */
  readonly gpgKeys: readonly string[];
  readonly apt: {
    readonly variant: 'essential' | 'minbase' | 'required' | 'important' | 'standard';
    readonly components: readonly string[];
    /** Absolute path of a sources file; undefined means the host's apt configuration. */
    readonly sources?: string;
  };
  /** Absolute paths of the optional hooks. */
  readonly hooks: { readonly base?: string; readonly staging?: string; readonly init?: string };
  readonly drivers: {
    /** VIC's common list heads the drivers array (common_drivers, default true). */
    readonly common: boolean;
    /** The drivers array read from init.sh. */
    readonly repo: readonly string[];
    /** The spec's `drivers` field. */
    readonly spec: readonly string[];
  };
  readonly modules: 'all' | 'drivers';
  /** files: only the kernel package's own files, unpacked; package: installed with its dependencies. */
  readonly kernelInstall: 'files' | 'package';
  /** The bootstrap image's root: only what the init and tether use, or the whole staged root. */
  readonly bootstrapInitrd: 'small' | 'full';
  /** Documentation (doc, man, info) installed; false leaves it out (copyright files stay). */
  readonly docs: boolean;
  /** Message catalogues kept under /usr/share/locale when docs is false. */
  readonly locales: readonly string[];
  /** What a file no package, hook, kernel or isobuild layer owns does to the build (docs/supply-chain.md). */
  readonly unowned: 'list' | 'error';
  /** Package lists younger than this many seconds are used without asking the mirrors. */
  readonly packageListsMaxAge: number;
  readonly compression: CompressionChoice;
  readonly boot: { readonly bios: boolean; readonly uefi: boolean };
  /** secure_boot as written (docs/secure-boot.md); absent: an unsigned UEFI path. */
  readonly secureBoot?: RepoSpec['secure_boot'];
  /** With boot.uefi: the ISO's EFI path is a UKI instead of GRUB (the uki stage makes it). */
  readonly uki: boolean;
  readonly cmdline: string;
  /** The boot contract (src/image/profile.ts). */
  readonly profile: BootProfileName;
  /** The image version the spec names, if any (imageVersion() resolves the default). */
  readonly version?: string;
  /** Absolute path of a tether binary from the repo folder. */
  readonly tether?: string;
  readonly app?: RepoSpec['app'];
  readonly minimise?: RepoSpec['minimise'];
  /** The microVM targets' VM shape; defaults applied, size in bytes when the spec gives one. */
  readonly microvm: {
    readonly vcpus: number;
    readonly memory: number;
    readonly size?: number;
    readonly app?: readonly string[];
    readonly cmdline: string;
  };
  /** The disk image targets: the whole disk's size in bytes when the spec gives one, and the root's kind (default ext4). */
  readonly disk?: { readonly size?: number; readonly root?: NonNullable<RepoSpec['disk']>['root'] };
  /** Boot tests (docs/testing-images.md), defaults applied, in the spec's order. */
  readonly tests: readonly BootTestSpec[];
  /** Budgets: sizes in bytes, the boot in seconds; absent when the spec sets none. */
  readonly budget: Budget;
  /** The document as written (after schema validation), merged over its base when it extends one. */
  readonly raw: RepoSpec;
  /**
   * `extends`: the base spec files (nearest first) and the top-level fields the repo's own file
   * sets, so `isobuild summary` can say which values came from a base.
   */
  readonly extended?: { readonly bases: readonly string[]; readonly ownFields: readonly string[] };
}
