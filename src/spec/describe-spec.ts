import { APT_SOURCES_ENV } from '../pm/apt-sources.js';
import { showPath } from './document.js';
import type { KernelSource, RepoSpec, ResolvedSpec } from './types.js';

/** Where a resolved setting came from: `isobuild summary` says it beside each value. */
export const SETTING_ORIGINS = [
  'spec file',
  'base spec',
  'default',
  'environment',
  'repo folder',
  'derived',
] as const;
export type SettingOrigin = (typeof SETTING_ORIGINS)[number];

/** The groups `isobuild summary` prints the settings in, in this order. */
export const SPEC_SECTIONS = ['repo', 'distribution', 'packages', 'hooks', 'boot', 'app'] as const;
export type SpecSection = (typeof SPEC_SECTIONS)[number];

export interface SpecSetting {
  readonly section: SpecSection;
  readonly label: string;
  readonly value: string;
  readonly origin: SettingOrigin;
}

/**
 * 'spec file' when the repo's own file sets any of the fields, 'base spec' when only a base it
 * extends does (an object field set in both counts as the repo's), else 'default'.
 */
function originOf(spec: ResolvedSpec, ...fields: (keyof RepoSpec)[]): SettingOrigin {
  const raw: Partial<RepoSpec> = spec.raw ?? {};
  const set = fields.filter((f) => raw[f] !== undefined);
  if (!set.length) return 'default';
  const own = spec.extended?.ownFields;
  return !own || set.some((f) => own.includes(f)) ? 'spec file' : 'base spec';
}

/**
 * The resolved spec as `isobuild plan` and `isobuild summary` show it: what the stages will
 * read, defaults filled in, each value with where it came from. One list, so the two commands
 * cannot disagree; plan prints label and value, summary adds the sections and origins.
 */
export function describeSpec(spec: ResolvedSpec, env: NodeJS.ProcessEnv = process.env): SpecSetting[] {
  const raw: Partial<RepoSpec> = spec.raw ?? {};
  /** 'spec file' when the document sets any of the fields, else the default filled in. */
  const from = (...fields: (keyof RepoSpec)[]): SettingOrigin => originOf(spec, ...fields);
  const list = (xs: readonly string[]) => (xs.length ? xs.join(' ') : '(none)');
  const files = (xs: readonly string[]) => (xs.length ? xs.map((f) => showPath(f)).join(', ') : '(none)');
  const kernel = describeKernelSource(spec.kernel);
  const hooks = Object.values(spec.hooks).filter((f): f is string => f !== undefined);
  const aptSourcesEnv = env[APT_SOURCES_ENV] || undefined;
  const rows: SpecSetting[] = [];
  const add = (section: SpecSection, label: string, value: string, origin: SettingOrigin) =>
    rows.push({ section, label, value, origin });

  add(
    'repo',
    'repo',
    `${spec.name} (${showPath(spec.specFile)})`,
    raw.name !== undefined ? 'spec file' : 'repo folder',
  );
  add('distribution', 'package manager', spec.packagemanager, from('packagemanager'));
  add(
    'distribution',
    'release',
    spec.releaseFrom ? `${spec.release} (${spec.releaseFrom})` : spec.release,
    raw.release !== undefined
      ? 'spec file'
      : aptSourcesEnv && spec.releaseFrom?.includes(showPath(aptSourcesEnv))
        ? 'environment'
        : 'derived',
  );
  add('distribution', 'kernel', kernel, from('kernel'));
  add('distribution', 'init', spec.init, from('init'));
  add('packages', 'base packages', list(spec.packages.base), from('packages'));
  add('packages', 'bootstrap packages', list(spec.packages.bootstrap), from('packages'));
  add('packages', 'appliance packages', list(spec.packages.appliance), from('packages'));
  add(
    'packages',
    'staging script',
    `bootstrap: ${list(spec.stagingScript.bootstrap)}; appliance: ${list(spec.stagingScript.appliance)}`,
    from('packages_script_staging'),
  );
  if (spec.packagemanager === 'apt') {
    add(
      'distribution',
      'apt',
      `variant ${spec.apt.variant}, components ${spec.apt.components.join(' ')}`,
      from('apt'),
    );
    // The order the build looks in (pm/apt-sources.ts): the variable, the spec, the host.
    add(
      'distribution',
      'apt sources',
      aptSourcesEnv
        ? `${showPath(aptSourcesEnv)} (${APT_SOURCES_ENV})`
        : spec.apt.sources
          ? showPath(spec.apt.sources)
          : "the host's apt configuration",
      aptSourcesEnv ? 'environment' : spec.apt.sources ? 'spec file' : 'default',
    );
  } else {
    add('distribution', 'repo files', files(spec.repoFiles), 'repo folder');
    add('distribution', 'gpg keys', files(spec.gpgKeys), 'repo folder');
  }
  add('hooks', 'hooks', hooks.length ? hooks.map((f) => showPath(f)).join(', ') : '(none)', 'repo folder');
  add(
    'boot',
    'drivers',
    `init.sh: ${list(spec.drivers.repo)}; spec: ${list(spec.drivers.spec)}`,
    raw.drivers !== undefined ? 'spec file' : spec.drivers.repo.length ? 'repo folder' : 'default',
  );
  add('boot', 'modules', spec.modules, from('modules'));
  add('boot', 'compression', spec.compression, from('compression'));
  add(
    'boot',
    'boot',
    [spec.boot.bios && 'bios', spec.boot.uefi && 'uefi'].filter(Boolean).join(' + '),
    from('boot'),
  );
  add('boot', 'cmdline', spec.cmdline || '(none)', from('cmdline'));
  if (spec.tether) add('boot', 'tether', showPath(spec.tether), from('tether'));
  if (spec.app) add('app', 'app', spec.app.run.join(' '), 'spec file');
  if (spec.minimise) add('app', 'minimise', `${spec.minimise.workloads.length} workload(s)`, 'spec file');
  return rows;
}

/**
 * Settings `isobuild summary` shows beyond what `plan` prints: spec fields whose defaults only
 * change details of the build (kernel_install, docs...).
 */
export function describeSpecDetails(spec: ResolvedSpec): SpecSetting[] {
  const from = (field: keyof RepoSpec): SettingOrigin => originOf(spec, field);
  const rows: SpecSetting[] = [
    {
      section: 'distribution',
      label: 'kernel install',
      value: spec.kernelInstall,
      origin: from('kernel_install'),
    },
    { section: 'packages', label: 'docs', value: spec.docs ? 'kept' : 'left out', origin: from('docs') },
    {
      section: 'packages',
      label: 'locales',
      value: spec.locales.length ? spec.locales.join(' ') : '(none)',
      origin: from('locales'),
    },
    {
      section: 'packages',
      label: 'package lists max age',
      value: `${spec.packageListsMaxAge} s`,
      origin: from('package_lists_max_age'),
    },
    {
      section: 'boot',
      label: 'bootstrap initrd',
      value: spec.bootstrapInitrd,
      origin: from('bootstrap_initrd'),
    },
    { section: 'boot', label: 'profile', value: spec.profile, origin: from('profile') },
    {
      section: 'boot',
      label: 'microvm',
      value: `${spec.microvm.vcpus} vcpu(s), ${spec.microvm.memory} MiB`,
      origin: from('microvm'),
    },
  ];
  if (spec.version !== undefined)
    rows.push({ section: 'repo', label: 'version', value: spec.version, origin: 'spec file' });
  return rows;
}

/** The spec's kernel in one line: a package, a package file, or what the kernel stage builds. */
export function describeKernelSource(kernel: KernelSource): string {
  if (kernel.kind === 'package') return `${kernel.name} (package)`;
  if (kernel.kind === 'file') return `${showPath(kernel.path)} (${kernel.format} file)`;
  const source = kernel.source.kind === 'package' ? kernel.source.name : showPath(kernel.source.path);
  const config =
    kernel.config.kind === 'preset' ? `preset ${kernel.config.name}` : showPath(kernel.config.path);
  const extra = [
    ...(kernel.fragments.length ? [`${kernel.fragments.length} fragments`] : []),
    ...(kernel.builtinDrivers ? ['drivers built in'] : []),
  ];
  return `built from ${source} (${[config, ...extra].join(', ')})`;
}
