import { run } from '../../../src/exec/run.js';
import { debianDeb } from '../test-cache.js';

/**
 * The Debian packages the offline RPM repository is repackaged from (debianDeb: the test cache,
 * else apt's own archive cache, else `apt-get download` from the host's configured archive, the
 * only network use of the test suite's RPM side).
 */
export interface DebianPayload {
  /** The RPM built from it. */
  rpm: 'busybox' | 'bash' | 'glibc' | 'util-linux' | 'haveged' | 'iptables' | 'linux';
  /** Paths of the .deb files, unpacked into one folder; the first gives the version. */
  debs: string[];
}

/** A kernel image .deb (not the meta package, debug symbols or the unsigned twin). */
const KERNEL_DEB = /^linux-image-\d[^_]*-cloud-amd64_[^_]+_amd64\.deb$/;

/** The versioned kernel package the cloud meta package points at. */
async function resolveKernelPackage(): Promise<string> {
  const res = await run('apt-cache', ['depends', '--important', 'linux-image-cloud-amd64'], {
    stage: 'test rpm repo',
  });
  const m = /Depends:\s*(linux-image-\d\S*-cloud-amd64)\b/.exec(res.stdout);
  if (!m) throw new Error(`no versioned kernel in apt-cache depends linux-image-cloud-amd64:\n${res.stdout}`);
  return m[1]!;
}

/** One after the other, in a fixed order. */
async function inOrder(pkgs: readonly string[], get: (pkg: string) => Promise<string>): Promise<string[]> {
  const out: string[] = [];
  for (const p of pkgs) out.push(await get(p));
  return out;
}

export async function fetchDebianPayloads(): Promise<DebianPayload[]> {
  const simple = (pkg: string) => debianDeb(pkg);
  // Any cached kernel image matches KERNEL_DEB; the versioned name is only needed to download one.
  const kernel = await debianDeb(await resolveKernelPackage(), KERNEL_DEB);
  return [
    { rpm: 'busybox', debs: [await simple('busybox-static')] },
    { rpm: 'bash', debs: [await simple('bash-static')] },
    { rpm: 'glibc', debs: [await simple('libc6')] },
    { rpm: 'util-linux', debs: [await simple('util-linux'), await simple('libblkid1')] },
    { rpm: 'haveged', debs: [await simple('haveged'), await simple('libhavege2')] },
    {
      rpm: 'iptables',
      debs: await inOrder(
        [
          'iptables',
          'libip4tc2',
          'libip6tc2',
          'libxtables12',
          'libmnl0',
          'libnetfilter-conntrack3',
          'libnfnetlink0',
          'libnftnl11',
        ],
        simple,
      ),
    },
    { rpm: 'linux', debs: [kernel] },
  ];
}

/** Debian version → RPM Version and Release (no epoch; '-' is not allowed in either). */
export function splitDebianVersion(debVersion: string): { version: string; release: string } {
  const noEpoch = debVersion.replace(/^\d+:/, '');
  const dash = noEpoch.lastIndexOf('-');
  const upstream = dash < 0 ? noEpoch : noEpoch.slice(0, dash);
  const revision = dash < 0 ? '1' : noEpoch.slice(dash + 1);
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._+~]/g, '.');
  return { version: clean(upstream), release: clean(revision) };
}
