import { resolve } from 'node:path';
import { parseImageRef } from '../oci/image-ref.js';
import { UsageError } from '../errors.js';
import type { FolderContents } from './folder.js';
import { parseSize } from '../microvm/size.js';
import { deriveRelease } from './release.js';
import {
  FLAVOURS,
  type Flavour,
  type KernelBuildSpec,
  type KernelSource,
  type OciSource,
  type PackageManagerName,
  type RepoSpec,
  type ResolvedSpec,
} from './types.js';
import type { KernelBuild, PackageList } from './repo-spec.generated.js';

/** Defaults every stage can rely on; documented in docs/spec.md. */
export const DEFAULTS = {
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

export function toKernelSource(kernel: string | KernelBuild, repoDir: string): KernelSource {
  if (typeof kernel !== 'string') return toKernelBuild(kernel, repoDir);
  if (!isKernelPath(kernel)) return { kind: 'package', name: kernel };
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
): ResolvedSpec {
  const pm: PackageManagerName = raw.packagemanager;
  const perFlavour = <T>(f: (flavour: Flavour) => T) =>
    Object.fromEntries(FLAVOURS.map((fl) => [fl, f(fl)])) as Record<Flavour, T>;
  const aptSources = raw.apt?.sources ?? folder.sourcesFiles[0];
  return {
    name: raw.name,
    repoDir,
    specFile,
    packagemanager: pm,
    kernel: toKernelSource(raw.kernel, repoDir),
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
    drivers: { repo: repoDrivers, spec: raw.drivers ?? [] },
    modules: raw.modules ?? DEFAULTS.modules,
    kernelInstall: raw.kernel_install ?? DEFAULTS.kernelInstall,
    bootstrapInitrd: raw.bootstrap_initrd ?? DEFAULTS.bootstrapInitrd,
    docs: raw.docs ?? DEFAULTS.docs,
    locales: raw.locales ?? [],
    unowned: raw.unowned ?? 'list',
    packageListsMaxAge: parseAge(raw.package_lists_max_age ?? DEFAULTS.packageListsMaxAge),
    compression: raw.compression ?? DEFAULTS.compression,
    boot: { bios: raw.boot?.bios ?? DEFAULTS.boot.bios, uefi: raw.boot?.uefi ?? DEFAULTS.boot.uefi },
    ...(raw.secure_boot !== undefined ? { secureBoot: raw.secure_boot } : {}),
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
    ...(raw.disk?.size !== undefined ? { disk: { size: parseSize(raw.disk.size) } } : {}),
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
