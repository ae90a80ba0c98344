import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { resolveInRoot } from '../rootfs/root-path.js';

/** What a root holds that looks like a kernel. */
export interface KernelFindings {
  /** Folders under /lib/modules that hold modules (or their index files). */
  moduleDirs: string[];
  /** Kernel image names found in /boot (vmlinuz-*, vmlinuz). */
  bootImages: string[];
}

/** Files that mark a /lib/modules/<version> folder as a real kernel's, not an empty leftover. */
const MODULE_DIR_MARKERS = ['kernel', 'modules.order', 'modules.builtin', 'modules.dep', 'vmlinuz'];

export async function findKernels(root: string): Promise<KernelFindings> {
  const modulesDir = await resolveInRoot(root, '/lib/modules');
  const moduleDirs: string[] = [];
  for (const name of await listDir(modulesDir)) {
    const entries = await listDir(join(modulesDir, name));
    if (entries.some((e) => MODULE_DIR_MARKERS.includes(e))) moduleDirs.push(name);
  }
  const bootImages = (await listDir(await resolveInRoot(root, '/boot'))).filter(isKernelImageName);
  return { moduleDirs: moduleDirs.sort(), bootImages: bootImages.sort() };
}

export function isKernelImageName(name: string): boolean {
  return name === 'vmlinuz' || /^(vmlinuz|bzImage)-./.test(name);
}

/** 'vmlinuz-6.1.0-37-cloud-amd64' → '6.1.0-37-cloud-amd64'; undefined for a bare 'vmlinuz'. */
export function versionOfImage(name: string): string | undefined {
  const m = /^(?:vmlinuz|bzImage)-(.+)$/.exec(name);
  return m?.[1];
}

/**
 * The one kernel version of a root. The module folders decide (depmod and the drivers stage
 * need them); an image-only root counts too, for kernels built without modules. None, or more
 * than one, is an error that lists what was found.
 */
export function pickKernelVersion(found: KernelFindings, stage?: string): string {
  const fromImages = found.bootImages.map(versionOfImage).filter((v): v is string => v !== undefined);
  const versions = found.moduleDirs.length ? found.moduleDirs : fromImages;
  if (versions.length === 1) return versions[0] as string;
  const seen =
    `/lib/modules has ${listOrNone(found.moduleDirs)}; ` + `/boot has ${listOrNone(found.bootImages)}`;
  if (versions.length === 0)
    throw new BuildError(`no kernel in the root (${seen}): check the spec's kernel package or file`, stage);
  throw new BuildError(
    `several kernel versions in the root (${seen}); an image boots one kernel: ` +
      'install one kernel package (a meta package and a versioned one can pull in two)',
    stage,
  );
}

/**
 * Where the kernel image for `version` is, as a path inside the root: /boot/vmlinuz-VERSION
 * (Debian, most RPM kernels), /lib/modules/VERSION/vmlinuz (newer Fedora-style packages), the
 * only /boot/vmlinuz-* there is (Photon's names differ from their module folders), or /boot/vmlinuz.
 */
export async function findKernelImage(
  root: string,
  version: string,
  found: KernelFindings,
  stage?: string,
): Promise<string> {
  const candidates = [`/boot/vmlinuz-${version}`, `/lib/modules/${version}/vmlinuz`];
  for (const c of candidates) if (await isFile(await resolveInRoot(root, c))) return c;
  const named = found.bootImages.filter((n) => n !== 'vmlinuz');
  if (named.length === 1) return `/boot/${named[0]}`;
  if (found.bootImages.includes('vmlinuz') && (await isFile(await resolveInRoot(root, '/boot/vmlinuz'))))
    return '/boot/vmlinuz';
  throw new BuildError(
    `no kernel image for ${version}: looked for ${candidates.join(', ')} and /boot/vmlinuz*; ` +
      `/boot has ${listOrNone(found.bootImages)}`,
    stage,
  );
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}

function listOrNone(items: readonly string[]): string {
  return items.length ? items.join(', ') : 'nothing';
}
