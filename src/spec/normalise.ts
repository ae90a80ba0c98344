import { resolve } from 'node:path';
import { parseImageRef } from '../oci/image-ref.js';
import { UsageError } from '../errors.js';
import type { FolderContents } from './folder.js';
import { parseSize } from '../microvm/size.js';
import { deriveRelease } from './release.js';
import { ARCHES, DEFAULT_ARCH, kernelPackageFor, type Arch } from './arch.js';
import {
  FLAVOURS,
  type Flavour,
  type KernelBuildSpec,
  type KernelSource,
  type OciSource,
  type PackageManagerName,
  type RepoSpec,
  type BootTestSpec,
  type Budget,
  type ResolvedSpec,
} from './types.js';
import type { KernelBuild, PackageList } from './repo-spec.generated.js';

/** Defaults every stage can rely on; documented in docs/spec.md. */
export const DEFAULTS = {
  commonDrivers: true,
  modules: 'all',
  compression: 'auto',
  boot: { bios: true, uefi: true },
  apt: { variant: 'essential', components: ['main'] },
  cmdline: '',
  microvm: { vcpus: 1, memory: 256 },
  kernelInstall: 'files',
  bootstrapInitrd: 'small',
  docs: false,
  packageListsMaxAge: '1d',
  profile: 'isobuild',
  test: { exit: 0, target: 'bootstrap', timeout: '60s' },
} as const;

const AGE_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** '90s', '30m', '6h', '1d' → seconds (the schema's pattern has already checked the form). */
export function parseAge(value: string): number {
  const m = /^(\d+)([smhd])$/.exec(value);
  if (!m) throw new UsageError(`not an age: ${value} (want a number and s, m, h or d, e.g. 6h)`);
  return Number(m[1]) * (AGE_UNITS[m[2] as string] as number);
}

export function splitWords(value: string): string[] {
  return value.split(/\s+/).filter((w) => w !== '');
}

function toPackageList(list: PackageList | undefined): string[] {
  if (list === undefined) return [];
  return typeof list === 'string' ? splitWords(list) : [...list];
}

function toBootTests(tests: RepoSpec['tests']): BootTestSpec[] {
  return (tests ?? []).map((t) => ({
    name: t.name,
    run: t.run,
    ...(t.expect !== undefined ? { expect: t.expect } : {}),
    exit: t.exit ?? DEFAULTS.test.exit,
    target: t.target ?? DEFAULTS.test.target,
    timeoutSeconds: parseAge(t.timeout ?? DEFAULTS.test.timeout),
  }));
}

/** The schema's patterns admit only sizes parseSize reads and durations parseAge reads. */
function toBudget(budget: RepoSpec['budget']): Budget {
  const out: { -readonly [K in keyof Budget]: Budget[K] } = {};
  for (const name of ['initrd', 'iso', 'rootfs'] as const) {
    const text = budget?.[name];
    if (text !== undefined) out[name] = parseSize(text);
  }
  if (budget?.boot !== undefined) out.bootSeconds = parseAge(budget.boot);
  return out;
}

function toKernelBuild(kernel: KernelBuild, repoDir: string): KernelBuildSpec {
  return {
    kind: 'build',
    source: isKernelTarball(kernel.source)
      ? {
          kind: 'tarball',
          path: resolve(repoDir, kernel.source),
          ...(kernel.sha256 !== undefined ? { sha256: kernel.sha256 } : {}),
        }
      : { kind: 'package', name: kernel.source },
    config: isKernelConfigPath(kernel.config)
      ? { kind: 'file', path: resolve(repoDir, kernel.config) }
      : { kind: 'preset', name: kernel.config },
    fragments: (kernel.fragments ?? []).map((f) => resolve(repoDir, f)),
    builtinDrivers: kernel.builtin === 'drivers',
  };
}

/** A kernel value naming a file: it has a folder part or a package file's extension. */
export function isKernelPath(kernel: string): boolean {
  return kernel.includes('/') || /\.(rpm|deb)$/.test(kernel);
}

/** A kernel source value naming a tarball in the repo folder rather than a source package. */
export function isKernelTarball(source: string): boolean {
  return source.includes('/') || /\.tar(\.(xz|gz|bz2|zst))?$|\.tgz$/.test(source);
}

/** A kernel config value naming a file in the repo folder rather than a preset. */
export function isKernelConfigPath(config: string): boolean {
  return config.includes('/') || config.endsWith('.config') || config.startsWith('.');
}

export function toKernelSource(
  kernel: string | KernelBuild,
  repoDir: string,
  arch: Arch = DEFAULT_ARCH,
): KernelSource {
  if (typeof kernel !== 'string') return toKernelBuild(kernel, repoDir);
  if (!isKernelPath(kernel)) return { kind: 'package', name: kernelPackageFor(kernel, arch) };
  return { kind: 'file', path: resolve(repoDir, kernel), format: kernel.endsWith('.deb') ? 'deb' : 'rpm' };
}

/**
 * The image or Dockerfile a root comes from; undefined when the spec names neither or the image
 * is unreadable (the oci adapter's rule says which manager reads them, and why one is unusable).
 */
export function toOciSource(raw: RepoSpec, repoDir: string): OciSource | undefined {
  if (raw.dockerfile !== undefined)
    return { kind: 'dockerfile', path: resolve(repoDir, raw.dockerfile), context: repoDir };
  if (raw.image === undefined) return undefined;
  try {
    return { kind: 'image', ref: parseImageRef(raw.image, repoDir), text: raw.image };
  } catch {
    return undefined;
  }
}

/** What a command line may set over the spec's own values (`build --arch`). */
export interface SpecOverrides {
  readonly arch?: Arch;
}

/**
 * Schema-valid document → resolved spec: package strings split, paths made absolute, defaults
 * applied. Pure; the semantic rules then check what the schema cannot.
 */
export function normaliseSpec(
  raw: RepoSpec,
  repoDir: string,
  specFile: string,
  folder: FolderContents,
  repoDrivers: readonly string[],
  overrides: SpecOverrides = {},
): ResolvedSpec {
  const pm: PackageManagerName = raw.packagemanager;
  const perFlavour = <T>(f: (flavour: Flavour) => T) =>
    Object.fromEntries(FLAVOURS.map((fl) => [fl, f(fl)])) as Record<Flavour, T>;
  const aptSources = raw.apt?.sources ?? folder.sourcesFiles[0];
  const arch = overrides.arch ?? raw.arch ?? DEFAULT_ARCH;
  // No BIOS outside x86: an arm64 spec that says nothing boots under UEFI only.
  const biosDefault = ARCHES[arch].bios && DEFAULTS.boot.bios;
  return {
    name: raw.name,
    repoDir,
    specFile,
    packagemanager: pm,
    arch,
    kernel: toKernelSource(raw.kernel, repoDir, arch),
    ...(raw.image !== undefined || raw.dockerfile !== undefined ? { oci: toOciSource(raw, repoDir) } : {}),
    init: raw.init,
    // '' when it cannot be derived; the release-derivable rule reports it.
    release: raw.release ?? deriveRelease(raw.name, pm) ?? '',
    packages: {
      base: toPackageList(raw.packages.base),
      ...perFlavour((fl) => toPackageList(raw.packages[fl])),
    },
    stagingScript: perFlavour((fl) => splitWords(raw.packages_script_staging?.[fl] ?? '')),
    repoFiles: folder.repoFiles,
    gpgKeys: folder.gpgKeys,
    apt: {
      variant: raw.apt?.variant ?? DEFAULTS.apt.variant,
      components: raw.apt?.components ?? [...DEFAULTS.apt.components],
      ...(aptSources !== undefined ? { sources: resolve(repoDir, aptSources) } : {}),
    },
    hooks: folder.hooks,
    drivers: {
      common: raw.common_drivers ?? DEFAULTS.commonDrivers,
      repo: repoDrivers,
      spec: raw.drivers ?? [],
    },
    modules: raw.modules ?? DEFAULTS.modules,
    kernelInstall: raw.kernel_install ?? DEFAULTS.kernelInstall,
    bootstrapInitrd: raw.bootstrap_initrd ?? DEFAULTS.bootstrapInitrd,
    docs: raw.docs ?? DEFAULTS.docs,
    locales: raw.locales ?? [],
    unowned: raw.unowned ?? 'list',
    packageListsMaxAge: parseAge(raw.package_lists_max_age ?? DEFAULTS.packageListsMaxAge),
    compression: raw.compression ?? DEFAULTS.compression,
    boot: { bios: raw.boot?.bios ?? biosDefault, uefi: raw.boot?.uefi ?? DEFAULTS.boot.uefi },
    ...(raw.secure_boot !== undefined ? { secureBoot: raw.secure_boot } : {}),
    uki: raw.uki ?? false,
    cmdline: raw.cmdline ?? DEFAULTS.cmdline,
    profile: raw.profile ?? DEFAULTS.profile,
    ...(raw.version !== undefined ? { version: raw.version } : {}),
    ...(raw.tether !== undefined ? { tether: resolve(repoDir, raw.tether) } : {}),
    ...(raw.app !== undefined ? { app: raw.app } : {}),
    ...(raw.minimise !== undefined ? { minimise: raw.minimise } : {}),
    microvm: {
      vcpus: raw.microvm?.vcpus ?? DEFAULTS.microvm.vcpus,
      memory: raw.microvm?.memory ?? DEFAULTS.microvm.memory,
      // The schema's pattern admits only sizes parseSize reads.
      ...(raw.microvm?.size !== undefined ? { size: parseSize(raw.microvm.size) } : {}),
      ...(raw.microvm?.app !== undefined ? { app: raw.microvm.app } : {}),
      cmdline: raw.microvm?.cmdline ?? '',
    },
    ...(raw.disk
      ? {
          disk: {
            ...(raw.disk.size !== undefined ? { size: parseSize(raw.disk.size) } : {}),
            ...(raw.disk.root !== undefined ? { root: raw.disk.root } : {}),
          },
        }
      : {}),
    tests: toBootTests(raw.tests),
    budget: toBudget(raw.budget),
    raw,
  };
}

/** Freeze the whole tree: stages share one resolved spec and must not change it under each other. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
