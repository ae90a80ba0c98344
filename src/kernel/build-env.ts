import { availableParallelism } from 'node:os';

/**
 * What `make` is told so that one source and one .config give the same bzImage and vmlinux on
 * any machine, in any folder, at any time (the kernel's Documentation/kbuild/reproducible-builds):
 * the build date from SOURCE_DATE_EPOCH, a fixed user, host and build number (the kept tree's
 * .version would count up each link), and the tree's path mapped out of what the compiler writes.
 * ccache is the compiler's wrapper: its base folder is the tree, so a second tree elsewhere hits
 * the same entries (paths inside it are relative).
 */
export interface KernelMakeEnv {
  /** Arguments after `make`. */
  args: string[];
  env: Record<string, string>;
}

export const KBUILD_USER = 'isobuild';
export const KBUILD_HOST = 'isobuild';

/** The date the kernel prints in `uname -v`, as `date -R` would write SOURCE_DATE_EPOCH in UTC. */
export function kbuildTimestamp(sourceDateEpoch: number): string {
  return new Date(sourceDateEpoch * 1000).toUTCString().replace('GMT', '+0000');
}

export function kernelMakeEnv(o: {
  tree: string;
  src: string;
  out: string;
  sourceDateEpoch: number;
  ccacheDir: string;
  jobs?: number;
}): KernelMakeEnv {
  const prefixMap = `-ffile-prefix-map=${o.tree}/=`;
  return {
    args: [
      '-C',
      o.src,
      `O=${o.out}`,
      `-j${o.jobs ?? availableParallelism()}`,
      'CC=ccache gcc',
      'HOSTCC=ccache gcc',
      `KCFLAGS=${prefixMap}`,
      `KAFLAGS=${prefixMap}`,
    ],
    env: {
      SOURCE_DATE_EPOCH: String(o.sourceDateEpoch),
      KBUILD_BUILD_TIMESTAMP: kbuildTimestamp(o.sourceDateEpoch),
      KBUILD_BUILD_USER: KBUILD_USER,
      KBUILD_BUILD_HOST: KBUILD_HOST,
      KBUILD_BUILD_VERSION: '1',
      CCACHE_DIR: o.ccacheDir,
      CCACHE_BASEDIR: o.tree,
      // Compiler output, not the folder it ran in, decides a hit.
      CCACHE_NOHASHDIR: '1',
      LC_ALL: 'C',
      TZ: 'UTC',
    },
  };
}
