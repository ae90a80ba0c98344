import { basename, join } from 'node:path';
import { withPackageCache } from '../cache/package-cache.js';
import { makeEspImage } from '../image/efi.js';
import {
  checkKernelSigned,
  DEBIAN_SIGNED_CHAIN,
  signedEspFiles,
  findSignedChain,
} from '../image/secure-boot.js';
import { aptCandidateVersions, fetchAptTree } from '../pm/apt-fetch.js';
import { pmContextOf, pmSpecOf } from '../pm/pm-context.js';
import { packageManagerFor } from '../pm/index.js';
import type { PmSpec } from '../pm/types.js';
import type { BuildPlan, KeyContext, StageContext } from '../stage/types.js';

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

/**
 * For the key of a stage that writes the signed chain: the version of each of its packages
 * (shim, signed GRUB, the kernel package) that the package cache's lists offer now, which is
 * what fetchSignedChainFiles would fetch. A new shim in the lists is a new key, and `plan
 * --explain` names it (facts.signedChain.shim-signed changed). Lists not fetched yet read null:
 * the first build after they are fetched makes this stage again, once.
 */
export async function signedChainFacts(
  chain: SignedChainInputs,
  where: KeyContext,
): Promise<Record<string, string | null>> {
  return aptCandidateVersions({ spec: chain.pm, pkgCacheDir: where.pkgCacheDir }, [
    ...DEBIAN_SIGNED_CHAIN.packages,
    ...(chain.kernelPackage ? [chain.kernelPackage] : []),
  ]);
}

/** secure_boot "distribution" as a stage's inputs: the package manager that fetches the chain, and the kernel's package. */
export interface SignedChainInputs {
  readonly chain: 'distribution';
  readonly pm: PmSpec;
  /** The spec's kernel package (the rule secure-boot-chain refuses any other kernel). */
  readonly kernelPackage?: string;
}

/** The signed chain's inputs when the plan asks for it, else undefined. */
export function signedChainInputs(plan: BuildPlan): SignedChainInputs | undefined {
  if (plan.spec.secureBoot !== 'distribution') return undefined;
  const { kernel } = plan.spec;
  return {
    chain: 'distribution',
    pm: pmSpecOf(plan.spec),
    ...(kernel.kind === 'package' ? { kernelPackage: kernel.name } : {}),
  };
}
