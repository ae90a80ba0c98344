import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { exists } from '../fs/exists.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import type { ResolvedSpec } from '../spec/types.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/**
 * Debian's Secure Boot chain: shim, signed by Microsoft's UEFI CA, holds Debian's key; it
 * starts GRUB, signed by Debian, which asks shim to check the kernel, also signed by Debian.
 * Both GRUBs are monolithic (every module built in, no insmod from disk) and run the same
 * embedded script: unless $prefix exists, find the file system holding /.disk/info, set
 * prefix=($root)/boot/grub, then source $prefix/x86_64-efi/grub.cfg, else $prefix/grub.cfg,
 * else $cmdpath/grub.cfg. gcdx64 (Debian's CD image GRUB) starts with no prefix; grubx64's is
 * /EFI/debian (the installed system's ESP folder).
 */
export const DEBIAN_SIGNED_CHAIN = {
  packages: ['shim-signed', 'grub-efi-amd64-signed'],
  shim: 'usr/lib/shim/shimx64.efi.signed',
  grub: {
    cd: 'usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed',
    disk: 'usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed',
  },
} as const;

/** The file signed GRUB searches for to find the medium with /boot/grub/grub.cfg on it. */
export const DISK_INFO = '.disk/info';

/** Where the chain lies on an ESP: shim on the removable-media path, GRUB beside it, where shim looks. */
export const SIGNED_ESP_PATHS = { shim: 'EFI/BOOT/BOOTX64.EFI', grub: 'EFI/BOOT/grubx64.efi' } as const;

/** Where the disk's signed GRUB (grubx64, prefix /EFI/debian on the device it started from) reads its configuration. */
export const SIGNED_DISK_GRUB_CFG = 'EFI/debian/grub.cfg';

export interface SignedChain {
  shim: string;
  grub: string;
}

/**
 * Why a spec cannot boot through its distribution's signed chain, or undefined when it can:
 * isobuild knows Debian's (apt); the kernel must be the distribution's signed package, not a
 * file, a kernel built from source or an -unsigned image.
 */
export function signedChainProblem(
  spec: Pick<ResolvedSpec, 'packagemanager' | 'kernel' | 'boot'>,
  /** Whether the spec's package manager brings a signed chain isobuild knows (its adapter says). */
  hasSignedChain: boolean,
): string | undefined {
  if (!hasSignedChain)
    return `secure_boot "distribution": isobuild knows no signed boot chain for packagemanager ${spec.packagemanager} (only apt's: ${DEBIAN_SIGNED_CHAIN.packages.join(', ')} and the distribution's signed kernel); sign a UKI with your own key instead ({"key", "cert"})`;
  if (!spec.boot.uefi)
    return 'secure_boot "distribution": boot.uefi is false, so the ISO has no UEFI path to sign';
  if (spec.kernel.kind === 'build')
    return `secure_boot "distribution": the kernel is built from source, not the distribution's signed kernel package, so shim would refuse it; sign a UKI with your own key instead ({"key", "cert"})`;
  if (spec.kernel.kind !== 'package')
    return `secure_boot "distribution": the kernel ${spec.kernel.path} is a package file, not the distribution's signed kernel package, so shim would refuse it`;
  if (/-unsigned\b/.test(spec.kernel.name))
    return `secure_boot "distribution": the kernel ${spec.kernel.name} is unsigned: name the signed package (${spec.kernel.name.replace('-unsigned', '')})`;
  return undefined;
}

/** Finds shim and GRUB in the chain's .debs unpacked into `tree` (apt-fetch's fetchAptTree). */
export async function findSignedChain(
  tree: string,
  debs: readonly string[],
  medium: 'cd' | 'disk',
): Promise<SignedChain> {
  const chain = {
    shim: join(tree, DEBIAN_SIGNED_CHAIN.shim),
    grub: join(tree, DEBIAN_SIGNED_CHAIN.grub[medium]),
  };
  for (const f of Object.values(chain))
    if (!(await exists(f)))
      throw new BuildError(
        `${f} is missing from ${debs.join(', ')}: the signed chain's packages changed their layout`,
      );
  return chain;
}

/** The ESP's files (path in the ESP → host file) for the chain. */
export function signedEspFiles(chain: SignedChain): Record<string, string> {
  return { [SIGNED_ESP_PATHS.shim]: chain.shim, [SIGNED_ESP_PATHS.grub]: chain.grub };
}

/**
 * Checks the kernel carries an Authenticode signature (the distribution's: shim checks whose).
 * An unsigned kernel would pass the build and only fail at the firmware, so it fails here.
 */
export async function checkKernelSigned(run: Runner, kernel: string, stage: string): Promise<void> {
  const res = await run('sbverify', ['--list', kernel], { allowFailure: true });
  if (!/^signature \d+/m.test(res.stdout))
    throw new BuildError(
      `${kernel} carries no signature (sbverify --list): secure_boot "distribution" needs the distribution's signed kernel`,
      stage,
    );
}
