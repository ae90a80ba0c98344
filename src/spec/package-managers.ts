import { InternalError } from '../errors.js';
import type { Rule } from './rule.js';
import type { SettingOrigin, SpecSetting } from './setting.js';
import type { PackageManagerName, ResolvedSpec } from './types.js';

/** A release and where it came from. */
export interface ResolvedRelease {
  /** '' when the repo needs one and none can be found: the adapter's release-derivable rule says so. */
  release: string;
  /** Where it came from, as `isobuild plan` says it. */
  from: string;
}

/**
 * What the spec's lifecycle (normalise, release, rules, plan and summary rows) asks of a package
 * manager. Each adapter of src/pm/ is one (PackageManager extends this), so spec code never names
 * a manager and stands below pm/: src/pm/index.ts hands its adapters table to usePackageManagers.
 */
export interface SpecPackageManager {
  readonly name: PackageManagerName;
  /** What a package argument may look like, checked at validate time (no option, no shell syntax). */
  readonly packageName: { pattern: RegExp; syntax: string };
  /**
   * Why packages_script_staging's words would fail (an unknown subcommand, an option, a bad
   * package name), or undefined: checked at validate time, so a bad script never reaches a build.
   */
  checkScript(args: readonly string[]): string | undefined;
  /**
   * Whether it fetches one package file by name on its own (apt-get download): how the kernel
   * stage gets a kernel source package (the kernel-build rule).
   */
  readonly fetchesSinglePackages?: boolean;
  /** Whether its distribution signs a boot chain isobuild can use (Debian: shim → GRUB → kernel). */
  readonly signedBootChain?: boolean;
  /** Whether it builds roots for another architecture than the host's (apt: mmdebstrap under qemu-user). */
  readonly buildsForeignArch?: boolean;
  /** The release a repo name implies (photon-2.0 → 2.0, debian-12 → bookworm), or undefined. */
  releaseFromName(name: string): string | undefined;
  /** The release when the spec sets none: from the name, the sources, or not used. */
  resolveRelease(spec: ResolvedSpec): Promise<ResolvedRelease>;
  /** Where `isobuild summary` says a release it did not find in the spec came from (default: derived). */
  releaseOrigin?(spec: ResolvedSpec, env: NodeJS.ProcessEnv): SettingOrigin;
  /** What the spec takes from the host where the repo folder has none (the RPM managers: *.repo files). */
  fromHost?(spec: ResolvedSpec): Promise<Partial<Pick<ResolvedSpec, 'repoFiles'>>>;
  /**
   * Rules every spec is checked with, whichever manager it names: a rule says what this manager
   * needs, and what its own fields are for when another manager is named with them.
   */
  readonly specRules: readonly Rule[];
  /** The rows `isobuild plan` and `summary` show of the manager's own settings (sources, repo files). */
  describeSpec(spec: ResolvedSpec, env: NodeJS.ProcessEnv): SpecSetting[];
}

export type SpecPackageManagers = Readonly<Record<PackageManagerName, SpecPackageManager>>;

let adapters: SpecPackageManagers | undefined;

/** Called once by src/pm/index.ts with its adapters table (the same object, so an entry is looked up when asked). */
export function usePackageManagers(table: SpecPackageManagers): void {
  adapters = table;
}

function table(): SpecPackageManagers {
  if (!adapters)
    throw new InternalError(
      'no package managers: src/pm/index.ts registers them; import it before loading a spec',
    );
  return adapters;
}

export function specPackageManager(name: PackageManagerName): SpecPackageManager {
  return table()[name];
}

/** Every manager's rules, each once (the RPM managers share theirs): each applies to every spec. */
export function packageManagerRules(): Rule[] {
  return [...new Set(Object.values(table()).flatMap((pm) => pm.specRules))];
}
