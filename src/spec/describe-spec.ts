import { showPath } from './document.js';
import { specPackageManager } from './package-managers.js';
import { originOf, type SettingOrigin, type SpecSection, type SpecSetting } from './setting.js';
import type { KernelSource, RepoSpec, ResolvedSpec } from './types.js';

export {
  originOf,
  SETTING_ORIGINS,
  SPEC_SECTIONS,
  type SettingOrigin,
  type SpecSection,
  type SpecSetting,
} from './setting.js';

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
  const kernel = describeKernelSource(spec.kernel);
  const hooks = Object.values(spec.hooks).filter((f): f is string => f !== undefined);
  const pm = specPackageManager(spec.packagemanager);
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
    raw.release !== undefined ? 'spec file' : (pm.releaseOrigin?.(spec, env) ?? 'derived'),
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
  rows.push(...pm.describeSpec(spec, env));
  add('hooks', 'hooks', hooks.length ? hooks.map((f) => showPath(f)).join(', ') : '(none)', 'repo folder');
  add('boot', 'common drivers', spec.drivers.common ? "VIC's common list" : '(none)', from('common_drivers'));
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
