import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';

/**
 * The Debian packages the offline RPM repository is repackaged from. They are taken from
 * the test cache, else from apt's own archive cache, else fetched with `apt-get download`
 * from the host's configured archive (the only network use of the test suite's RPM side).
 */
export interface DebianPayload {
  /** The RPM built from it. */
  rpm: 'busybox' | 'bash' | 'glibc' | 'util-linux' | 'haveged' | 'iptables' | 'linux';
  /** Paths of the .deb files, unpacked into one folder; the first gives the version. */
  debs: string[];
}

const APT_ARCHIVES = '/var/cache/apt/archives';

/** A kernel image .deb (not the meta package, debug symbols or the unsigned twin). */
const KERNEL_DEB = /^linux-image-\d[^_]*-cloud-amd64_[^_]+_amd64\.deb$/;

function debPattern(pkg: string): RegExp {
  return new RegExp(`^${pkg.replace(/[.+]/g, '\\$&')}_[^_]+_amd64\\.deb$`);
}

async function listDebs(dir: string, pattern: RegExp): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => pattern.test(f)).sort();
  } catch {
    return [];
  }
}

/** The newest match in the test cache or apt's archive cache, copied into the cache. */
async function findLocalDeb(debDir: string, pattern: RegExp): Promise<string | undefined> {
  const cached = await listDebs(debDir, pattern);
  if (cached.length) return join(debDir, cached[cached.length - 1]!);
  const archived = await listDebs(APT_ARCHIVES, pattern);
  if (!archived.length) return undefined;
  const name = archived[archived.length - 1]!;
  await copyFile(join(APT_ARCHIVES, name), join(debDir, name));
  return join(debDir, name);
}

async function downloadDeb(debDir: string, pkg: string, pattern: RegExp): Promise<string> {
  await run('apt-get', ['download', pkg], { cwd: debDir, stage: 'test rpm repo' });
  const found = await listDebs(debDir, pattern);
  if (!found.length) throw new Error(`apt-get download ${pkg} left no matching .deb in ${debDir}`);
  return join(debDir, found[found.length - 1]!);
}

/** The versioned kernel package the cloud meta package points at. */
async function resolveKernelPackage(): Promise<string> {
  const res = await run('apt-cache', ['depends', '--important', 'linux-image-cloud-amd64'], {
    stage: 'test rpm repo',
  });
  const m = /Depends:\s*(linux-image-\d\S*-cloud-amd64)\b/.exec(res.stdout);
  if (!m) throw new Error(`no versioned kernel in apt-cache depends linux-image-cloud-amd64:\n${res.stdout}`);
  return m[1]!;
}

/** One after the other: apt-get download runs are not meant to share a folder at once. */
async function inOrder(pkgs: readonly string[], get: (pkg: string) => Promise<string>): Promise<string[]> {
  const out: string[] = [];
  for (const p of pkgs) out.push(await get(p));
  return out;
}

export async function fetchDebianPayloads(debDir: string): Promise<DebianPayload[]> {
  await mkdir(debDir, { recursive: true });
  const simple = async (pkg: string) =>
    (await findLocalDeb(debDir, debPattern(pkg))) ?? (await downloadDeb(debDir, pkg, debPattern(pkg)));
  const kernel =
    (await findLocalDeb(debDir, KERNEL_DEB)) ??
    (await downloadDeb(debDir, await resolveKernelPackage(), KERNEL_DEB));
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
