import { basename, join } from 'node:path';
import { withPackageCache } from '../cache/package-cache.js';
import { makeEspImage } from '../image/efi.js';
import {
  checkKernelSigned,
  DEBIAN_SIGNED_CHAIN,
  signedEspFiles,
  findSignedChain,
} from '../image/secure-boot.js';
import { fetchAptTree } from '../pm/apt-fetch.js';
import { pmContextOf } from '../pm/pm-context.js';
import { packageManagerFor } from '../pm/index.js';
import type { PmSpec } from '../pm/types.js';
import type { StageContext } from '../stage/types.js';

/**
 * secure_boot "distribution" for a stage that writes an ESP (the ISO's El Torito image, a
 * disk image's partition): fetches the distribution's signed shim and GRUB through the package
 * cache, checks the kernel they will start is signed, and returns the chain's ESP files (path
 * in the ESP → host file). `medium` picks the GRUB: 'cd' searches for /.disk/info, 'disk'
 * reads /EFI/debian/grub.cfg on the ESP it was started from.
 */
export async function fetchSignedChainFiles(
  ctx: StageContext,
  pm: PmSpec,
  kernel: string,
  medium: 'cd' | 'disk',
  workDir: string,
): Promise<Record<string, string>> {
  await checkKernelSigned(ctx.run, kernel, ctx.stage);
  const pmCtx = pmContextOf(ctx, {
    pm,
    adapterVersion: packageManagerFor(pm.packagemanager).version,
  });
  const tree = join(workDir, 'signed-chain');
  const debs = await withPackageCache(ctx, () => fetchAptTree(pmCtx, DEBIAN_SIGNED_CHAIN.packages, tree));
  ctx.logger.info(`secure boot: signed chain from ${debs.map((d) => basename(d)).join(', ')}`);
  return signedEspFiles(await findSignedChain(tree, debs, medium));
}

/** fetchSignedChainFiles as an ESP image of their own (the ISO's El Torito EFI image). */
export async function makeSignedChainEsp(
  ctx: StageContext,
  pm: PmSpec,
  kernel: string,
  medium: 'cd' | 'disk',
  workDir: string,
): Promise<string> {
  const files = await fetchSignedChainFiles(ctx, pm, kernel, medium, workDir);
  return makeEspImage(ctx.run, files, workDir, ctx.sourceDateEpoch);
}
