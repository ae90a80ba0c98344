import { basename, join } from 'node:path';
import { withPackageCache } from '../cache/package-cache.js';
import { HOST_BUSYBOX } from '../exec/host-tools.js';
import { APT_TREE_COMMANDS, fetchAptTree } from '../pm/apt-fetch.js';
import { packageManagerFor } from '../pm/index.js';
import { pmContextOf } from '../pm/pm-context.js';
import type { PmSpec } from '../pm/types.js';
import { ARCHES, DEFAULT_ARCH } from '../spec/arch.js';
import { HOST_GRUB_EFI, type GrubPlatform } from '../image/efi.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import type { StageContext } from '../stage/types.js';

/**
 * What a stage that reads the target's own packages declares: apt-fetch's commands. The
 * packages' versions are the lists' answer, which the parent stages' keys already hold.
 */
export const TARGET_PACKAGE_COMMANDS: readonly DeclaredTool[] = APT_TREE_COMMANDS;

/**
 * Files of the target architecture's packages, for the parts of an image the host's own files
 * stand in for on a native build (the init layer's busybox, GRUB's EFI modules): fetched through
 * the package cache with the repo's sources, unpacked into `tree`. apt only: the arch rule
 * refuses another architecture for the other package managers.
 */
export async function fetchTargetPackages(
  ctx: StageContext,
  pm: PmSpec,
  names: readonly string[],
  tree: string,
): Promise<void> {
  const pmCtx = pmContextOf(ctx, { pm, adapterVersion: packageManagerFor(pm.packagemanager).version });
  const debs = await withPackageCache(ctx, () => fetchAptTree(pmCtx, names, tree));
  ctx.logger.info(`${pm.arch}: ${debs.map((d) => basename(d)).join(', ')} from the repo's sources`);
}

/**
 * The init layer's static busybox: the host's for a native build, the target's busybox-static
 * for another architecture (the host's would not run in its image).
 */
export async function targetBusybox(ctx: StageContext, pm: PmSpec): Promise<string> {
  if (pm.arch === DEFAULT_ARCH) return HOST_BUSYBOX;
  const tree = join(ctx.tmpDir, 'busybox-static');
  await fetchTargetPackages(ctx, pm, ['busybox-static'], tree);
  return join(tree, 'bin/busybox');
}

/**
 * GRUB's EFI modules for grub-mkimage: the host's for a native build, the target's
 * grub-efi-<arch>-bin (arm64: not installable on this amd64 host) for another architecture.
 */
export async function targetGrub(ctx: StageContext, pm: PmSpec): Promise<GrubPlatform> {
  if (pm.arch === DEFAULT_ARCH) return HOST_GRUB_EFI;
  const facts = ARCHES[pm.arch];
  const tree = join(ctx.tmpDir, facts.grubPackage);
  await fetchTargetPackages(ctx, pm, [facts.grubPackage], tree);
  return { format: facts.grubFormat, dir: join(tree, 'usr/lib/grub', facts.grubFormat) };
}
