import { basename, relative } from 'node:path';
import { BundleError } from '../errors.js';
import { exists } from '../fs/exists.js';
import { sha256File } from '../fs/hash.js';
import type { FetchedPackage } from '../pm/types.js';
import type { StageMeta } from '../stage/types.js';
import type { ResolvedSpec } from '../spec/types.js';
import type { BundleConfig } from './bundle-config.js';

type KernelSourceRecord = NonNullable<BundleConfig['kernelSource']>;

/**
 * The package files the build's stages fetched beside its roots, for the package manager to
 * bundle: the kernel's source package when the plan builds the kernel from one. The kernel
 * stage records the file it built from (`meta.kernelSource`); an entry cached by an older
 * isobuild did not, and the adapter then looks for the package's one file in its cache.
 */
export function fetchedPackagesOf(
  spec: ResolvedSpec,
  buildsKernel: boolean,
  meta: StageMeta,
): FetchedPackage[] {
  const { kernel } = spec;
  if (!buildsKernel || kernel.kind !== 'build' || kernel.source.kind !== 'package') return [];
  const recorded = meta.kernelSource?.kind === 'package' ? meta.kernelSource.file : undefined;
  return [{ name: kernel.source.name, ...(recorded ? { file: recorded } : {}) }];
}

/**
 * The kernel source's name in the bundle and its sha256, for the config (a rebuild checks the
 * bundle still has it): the repo folder's tarball (`repo/...`, bundled with the folder), or the
 * source package's file among the adapter's parts. Undefined when the plan builds no kernel.
 */
export async function kernelSourceRecord(
  spec: ResolvedSpec,
  buildsKernel: boolean,
  fetched: readonly FetchedPackage[],
  files: readonly { name: string; from: string }[],
): Promise<KernelSourceRecord | undefined> {
  const { kernel } = spec;
  if (!buildsKernel || kernel.kind !== 'build') return undefined;
  const bundle = spec.repoDir;
  if (kernel.source.kind === 'tarball') {
    const path = kernel.source.path;
    if (!(await exists(path)))
      throw new BundleError(`the kernel source ${path} is gone from the repo folder`, { bundle });
    return { name: `repo/${relative(spec.repoDir, path)}`, sha256: await sha256File(path) };
  }
  const { name } = kernel.source;
  const wanted = fetched.find((p) => p.name === name);
  const file = files.find((f) =>
    wanted?.file ? basename(f.from) === wanted.file : basename(f.from).startsWith(`${name}_`),
  );
  if (!file)
    throw new BundleError(
      `the package manager's part of the bundle has no file of the kernel source ${name}`,
      {
        bundle,
      },
    );
  return { name: file.name, sha256: await sha256File(file.from) };
}

/**
 * A rebuild's check that the bundle still holds the kernel source its config names, with that
 * sha256: a bundle rewritten without it (its manifest consistent) is refused naming the file,
 * not by a kernel stage that cannot fetch it with no network.
 */
export async function checkKernelSource(
  record: KernelSourceRecord | undefined,
  dir: string,
  bundle: string,
): Promise<void> {
  if (!record) return;
  const path = `${dir}/${record.name}`;
  if (!(await exists(path)))
    throw new BundleError('the kernel is built from this source and the bundle lacks it', {
      bundle,
      file: record.name,
    });
  const got = await sha256File(path);
  if (got !== record.sha256)
    throw new BundleError(`kernel source: sha256 ${got}, the bundle's config says ${record.sha256}`, {
      bundle,
      file: record.name,
    });
}
