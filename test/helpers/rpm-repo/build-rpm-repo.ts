import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../../src/exec/run.js';
import { fetchDebianPayloads, splitDebianVersion, type DebianPayload } from './debian-payloads.js';
import { exists } from '../../../src/fs/exists.js';
import { testCacheRoot } from '../test-cache.js';

/**
 * The offline RPM repository the RPM adapters' tests install from: filesystem, busybox and
 * bash (Debian's static builds), glibc and util-linux (for blkid, which the bootstrap init
 * needs and Debian's busybox lacks), haveged and iptables (for the sample repo's
 * install-entropy and install-iptables), toybox (a dummy the staging script erases) and linux
 * (Debian's cloud kernel with its modules and modules.dep), built with rpmbuild and
 * createrepo_c. The kernel package is ~35 MB, so the finished repository is kept under
 * the test cache keyed by its inputs and shared by every test (and every later run).
 */
export interface OfflineRpmRepo {
  /** The repository folder (RPMs and repodata/). */
  dir: string;
  /** The kernel's module directory name, e.g. 6.1.0-53-cloud-amd64. */
  kernelVersion: string;
  /** Package names in the repository. */
  packages: string[];
}

/** Bump when the way packages are built changes, so old cached repositories are not reused. */
const BUILDER_VERSION = 1;
const STAGE = 'test rpm repo';
/** Fixed so two builds of the same inputs give the same packages. */
const SOURCE_DATE_EPOCH = '1700000000';

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/rpm-repo');
const SPEC_DIR = join(FIXTURE_DIR, 'specs');

async function readKey(payloads: readonly DebianPayload[]): Promise<string> {
  const hash = createHash('sha256').update(`builder ${BUILDER_VERSION}\n`);
  for (const spec of (await readdir(SPEC_DIR)).sort())
    hash.update(`${spec}\n`).update(await readFile(join(SPEC_DIR, spec)));
  for (const p of payloads) hash.update(`${p.rpm} ${p.debs.map((d) => basename(d)).join(' ')}\n`);
  return hash.digest('hex').slice(0, 16);
}

async function readDebVersion(deb: string): Promise<string> {
  return (await run('dpkg-deb', ['-f', deb, 'Version'], { stage: STAGE })).stdout.trim();
}

/** rpmbuild with everything host-specific switched off: no stripping, no build-id links. */
async function buildRpm(
  spec: string,
  workDir: string,
  outDir: string,
  defines: Record<string, string>,
): Promise<void> {
  const all: Record<string, string> = {
    _topdir: join(workDir, 'rpmbuild'),
    _rpmdir: outDir,
    _build_id_links: 'none',
    debug_package: '%{nil}',
    __os_install_post: '%{nil}',
    _binary_payload: 'w3.zstdio',
    _buildhost: 'isobuild-test',
    use_source_date_epoch_as_buildtime: '1',
    clamp_mtime_to_source_date_epoch: '1',
    ...defines,
  };
  const args = ['-bb', '--nodeps'];
  for (const [k, v] of Object.entries(all)) args.push('--define', `${k} ${v}`);
  args.push(spec.includes('/') ? spec : join(SPEC_DIR, `${spec}.spec`));
  await run('rpmbuild', args, { stage: STAGE, env: { SOURCE_DATE_EPOCH } });
}

async function extractDeb(deb: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  await run('dpkg-deb', ['-x', deb, dest], { stage: STAGE });
}

async function findKernelVersion(payloadDir: string): Promise<string> {
  const versions = await readdir(join(payloadDir, 'lib/modules'));
  if (versions.length !== 1) throw new Error(`expected one kernel in the .deb, found ${versions.join(', ')}`);
  return versions[0]!;
}

async function buildRepoInto(
  dest: string,
  workDir: string,
  payloads: readonly DebianPayload[],
): Promise<void> {
  const rpms = join(workDir, 'rpms');
  for (const spec of ['filesystem', 'toybox']) await buildRpm(spec, workDir, rpms, {});
  for (const p of payloads) {
    const payloadDir = join(workDir, 'payload', p.rpm);
    for (const deb of p.debs) await extractDeb(deb, payloadDir);
    const { version, release } = splitDebianVersion(await readDebVersion(p.debs[0]!));
    const defines: Record<string, string> = {
      payload: payloadDir,
      pkgversion: version,
      pkgrelease: release,
    };
    if (p.rpm === 'linux') defines.kver = await findKernelVersion(payloadDir);
    await buildRpm(p.rpm, workDir, rpms, defines);
  }
  await makeRepo(rpms, dest);
}

/** Moves rpmbuild's output (one folder an arch) into `dest` and indexes it. */
async function makeRepo(rpms: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  for (const arch of await readdir(rpms))
    for (const f of await readdir(join(rpms, arch))) await rename(join(rpms, arch, f), join(dest, f));
  await run(
    'createrepo_c',
    ['--quiet', '--revision', SOURCE_DATE_EPOCH, '--set-timestamp-to-revision', dest],
    { stage: STAGE },
  );
}

/** Folder of fixture packages built on demand by the tests that need them, outside the shared repository. */
export const EXTRA_SPEC_DIR = join(FIXTURE_DIR, 'extra-specs');

/**
 * A small repository of the named extra-specs packages (noarch, no payload), built into `dest`:
 * seconds, so a test builds its own beside the shared one instead of growing that one's key.
 */
export async function buildExtraRpmRepo(dest: string, specNames: readonly string[]): Promise<string> {
  const workDir = await mkdtemp(join(tmpdir(), 'isobuild-extra-rpms-'));
  try {
    const rpms = join(workDir, 'rpms');
    for (const name of specNames) await buildRpm(join(EXTRA_SPEC_DIR, `${name}.spec`), workDir, rpms, {});
    await makeRepo(rpms, dest);
    return dest;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function describeRepo(dir: string): Promise<OfflineRpmRepo> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.rpm')).sort();
  const kernelRpm = files.find((f) => f.startsWith('linux-'));
  if (!kernelRpm) throw new Error(`no linux package in ${dir}`);
  const res = await run('rpm', ['-qlp', join(dir, kernelRpm)], { stage: STAGE });
  const m = /^\/boot\/vmlinuz-(.+)$/m.exec(res.stdout);
  if (!m) throw new Error(`no /boot/vmlinuz-* in ${kernelRpm}`);
  return {
    dir,
    kernelVersion: m[1]!,
    packages: files.map((f) => f.replace(/-[^-]+-[^-]+\.[^.]+\.rpm$/, '')),
  };
}

/**
 * Wait for another worker that holds the lock, taking the lock over when it is older than
 * `staleMs` (its owner died). Polls: jest workers share no other channel.
 */
async function takeLock(
  lock: string,
  ready: () => Promise<boolean>,
  staleMs = 15 * 60_000,
): Promise<boolean> {
  for (;;) {
    try {
      await mkdir(lock);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await ready()) return false;
    try {
      if (Date.now() - (await stat(lock)).mtimeMs > staleMs) await rm(lock, { recursive: true, force: true });
    } catch {
      /* released meanwhile */
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Repositories built from older inputs are dead weight in the cache once a new one exists. */
async function removeOlderRepos(root: string, keep: string): Promise<void> {
  for (const name of await readdir(root))
    if (/^rpm-repo-[0-9a-f]{16}$/.test(name) && name !== keep && !(await exists(join(root, `${name}.lock`))))
      await rm(join(root, name), { recursive: true, force: true });
}

let pending: Promise<OfflineRpmRepo> | undefined;

/** Builds the repository once per input set; later calls (any worker, any run) reuse it. */
export function buildOfflineRpmRepo(): Promise<OfflineRpmRepo> {
  pending ??= buildOnce().catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

async function buildOnce(): Promise<OfflineRpmRepo> {
  const root = testCacheRoot();
  await mkdir(root, { recursive: true });
  const payloads = await fetchDebianPayloads();
  const dest = join(root, `rpm-repo-${await readKey(payloads)}`);
  const ready = () => exists(join(dest, 'repodata/repomd.xml'));
  if (await ready()) return describeRepo(dest);

  const lock = `${dest}.lock`;
  if (!(await takeLock(lock, ready))) return describeRepo(dest);
  const workDir = await mkdtemp(join(root, 'rpm-repo-work-'));
  try {
    if (!(await ready())) {
      // Build beside the destination and rename, so no one ever sees half a repository.
      const staged = join(workDir, 'repo');
      await buildRepoInto(staged, workDir, payloads);
      await rm(dest, { recursive: true, force: true });
      await rename(staged, dest);
      await removeOlderRepos(root, basename(dest));
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
    await rm(lock, { recursive: true, force: true });
  }
  return describeRepo(dest);
}
