import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../../src/exec/run.js';
import { eventsOfType } from '../helpers/json-events.js';
import { sharedStageCache } from '../helpers/test-cache.js';

/**
 * isobuild bundle and build --from-bundle through the real CLI, apt and mmdebstrap: the debian-12
 * bootstrap (the repo the issue names; its build is shared with the other debian-12 tests through
 * the shared stage cache, and the rebuild is about two minutes) is bundled into an OCI layout tar,
 * then rebuilt from the bundle alone in a fresh cache with the network unshared (unshare -n): the
 * ISO's sha256 is the original's. A bundle with one package file changed by a byte, or removed,
 * is refused before anything runs, naming that file.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');

let dir: string;
const cli = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
  run('node', [CLI, '--json', ...args], {
    cwd: dir,
    env: { ISOBUILD_CACHE: sharedStageCache(), NO_COLOR: '1', ...env },
    timeoutMs: 1_200_000,
    allowFailure: true,
  });

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** The bundle's manifest: each file's name and blob. */
async function bundleFiles(layout: string): Promise<{ name: string; blob: string }[]> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const blob = (digest: string) => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as {
    layers: { digest: string; annotations: Record<string, string> }[];
  };
  return manifest.layers.map((l) => ({
    name: l.annotations['org.opencontainers.image.title']!,
    blob: blob(l.digest),
  }));
}

let bundle: string;
let iso: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-bundle-'));
  await cp(join(ROOT, 'repos', 'debian-12'), join(dir, 'repos', 'debian-12'), { recursive: true });
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
  bundle = join(dir, 'debian-12.tar');
  const res = await cli(['bundle', join(dir, 'repos', 'debian-12'), '-o', bundle, '--bin', join(dir, 'bin')]);
  if (res.exitCode !== 0) throw new Error(`isobuild bundle failed:\n${res.all}`);
  const [output] = eventsOfType(res.stdout, 'output') as unknown as { path: string }[];
  iso = output!.path;
}, 1_200_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('isobuild bundle debian-12', () => {
  test('the bundle holds the repo folder, the lock, signed lists, keys, sources and every installed .deb', async () => {
    const layout = join(dir, 'layout');
    await mkdir(layout);
    await run('tar', ['-xf', bundle, '-C', layout]);
    const files = await bundleFiles(layout);
    const names = files.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['repo/repo-spec.json', 'repo/init.sh', 'isobuild.lock']));
    expect(names.some((n) => /^apt\/lists\/.*_dists_bookworm_InRelease$/.test(n))).toBe(true);
    expect(names.some((n) => /^apt\/lists\/.*_main_binary-amd64_Packages$/.test(n))).toBe(true);
    expect(names.some((n) => n.startsWith('apt/keys/'))).toBe(true);
    expect(names.some((n) => n.startsWith('apt/sources/'))).toBe(true);
    const lockBlob = files.find((f) => f.name === 'isobuild.lock')!.blob;
    const lock = JSON.parse(await readFile(lockBlob, 'utf8')) as { packages: { name: string }[] };
    // Every locked package has its .deb in the bundle: busybox and the kernel among them.
    const debs = names.filter((n) => n.startsWith('apt/archives/'));
    expect(debs).toHaveLength(lock.packages.length);
    expect(lock.packages.map((p) => p.name)).toContain('busybox');
    expect(debs.some((n) => /\/busybox_[^/]+_amd64\.deb$/.test(n))).toBe(true);
    expect(debs.some((n) => /\/linux-image-[^/]+-cloud-amd64_[^/]+\.deb$/.test(n))).toBe(true);
  });

  test('the same inputs give the same bundle bytes', async () => {
    const again = join(dir, 'again.tar');
    const res = await cli([
      'bundle',
      join(dir, 'repos', 'debian-12'),
      '-o',
      again,
      '--bin',
      join(dir, 'bin'),
    ]);
    expect(res.exitCode).toBe(0);
    expect(await sha256(again)).toBe(await sha256(bundle));
    await rm(again);
  }, 600_000);

  test('build --from-bundle rebuilds it in a fresh cache with no network: the same ISO bytes', async () => {
    const out = join(dir, 'rebuilt.iso');
    // A cache that does not exist: the rebuild makes its own fresh one and needs nothing here.
    const res = await cli(['build', '--from-bundle', bundle, '-o', out, '--bin', join(dir, 'rebin')], {
      ISOBUILD_CACHE: join(dir, 'no-cache'),
    });
    if (res.exitCode !== 0) throw new Error(`build --from-bundle failed:\n${res.all}`);
    expect(await sha256(out)).toBe(await sha256(iso));
    const [done] = eventsOfType(res.stdout, 'from-bundle') as unknown as { outputs: { sha256: string }[] }[];
    expect(done!.outputs[0]!.sha256).toBe(await sha256(iso));
    // The inner build ran with the network unshared, and fetched no list.
    expect(res.stdout).toContain('unshare -n');
  }, 1_200_000);

  describe('a tampered bundle is refused before anything runs, naming the file', () => {
    let layout: string;
    let deb: { name: string; blob: string };

    beforeAll(async () => {
      layout = join(dir, 'tampered');
      await mkdir(layout);
      await run('tar', ['-xf', bundle, '-C', layout]);
      deb = (await bundleFiles(layout)).find((f) => /^apt\/archives\/busybox_/.test(f.name))!;
    });

    async function expectRefused(file: string, words: string): Promise<void> {
      const res = await cli(['build', '--from-bundle', layout, '--bin', join(dir, 'never')]);
      expect(res.exitCode).toBe(1);
      const [error] = eventsOfType(res.stdout, 'error') as unknown as {
        kind: string;
        file: string;
        message: string;
      }[];
      expect(error).toMatchObject({ kind: 'bundle', file, path: layout });
      expect(error!.message).toContain(words);
      expect(eventsOfType(res.stdout, 'stage')).toHaveLength(0);
      await expect(readdir(join(dir, 'never'))).rejects.toThrow();
    }

    test('one byte of a .deb changed', async () => {
      const bytes = await readFile(deb.blob);
      const saved = Buffer.from(bytes);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
      await writeFile(deb.blob, bytes);
      await expectRefused(deb.name, 'changed');
      await writeFile(deb.blob, saved);
    }, 120_000);

    test('one package file removed', async () => {
      await rm(deb.blob);
      await expectRefused(deb.name, 'missing');
    }, 120_000);
  });
});
