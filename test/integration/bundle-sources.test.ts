import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../../src/exec/run.js';
import { parseSourceEntries } from '../../src/pm/apt-bundle.js';
import { findHostSources } from '../../src/pm/apt-sources.js';
import { eventsOfType } from '../helpers/json-events.js';
import { sharedStageCache } from '../helpers/test-cache.js';

/**
 * A bundle of a build with two apt sources files: a deb822 .sources for bookworm main and a
 * one-line .list for bookworm-updates main, both on the Debian mirror the host's own sources
 * name (read from /etc/apt at test time), given as ISOBUILD_APT_SOURCES=a:b. The bundle holds
 * both files in order with each suite's signed InRelease and lists; the rebuild from it alone,
 * with the network unshared, checks each with gpgv and gives the same ISO bytes. The debian-12
 * bootstrap: its package files are in the shared test cache's package cache (bundle.test.ts).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

let dir: string;
const cli = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
  run('node', [CLI, '--json', ...args], {
    cwd: dir,
    env: { ISOBUILD_CACHE: sharedStageCache(), NO_COLOR: '1', ...env },
    timeoutMs: 1_200_000,
    allowFailure: true,
  });

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

/** The URI of the host's Debian archive: the entry whose suites include bookworm. */
async function hostDebianUri(): Promise<string> {
  for (const file of await findHostSources()) {
    const entry = parseSourceEntries(await readFile(file, 'utf8')).find((e) => e.suites.includes('bookworm'));
    if (entry) return entry.uri;
  }
  throw new Error('the host has no apt source for bookworm');
}

let bundle: string;
let iso: string;
let rebuilt: RunResult;
let rebuiltIso: string;
let names: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-bundle-sources-'));
  await cp(join(ROOT, 'repos', 'debian-12'), join(dir, 'repos', 'debian-12'), { recursive: true });
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
  const uri = await hostDebianUri();
  const main = join(dir, 'sources', 'bookworm.sources');
  const updates = join(dir, 'sources', 'updates.list');
  await mkdir(join(dir, 'sources'));
  await writeFile(
    main,
    `Types: deb\nURIs: ${uri}\nSuites: bookworm\nComponents: main\nSigned-By: ${KEYRING}\n`,
  );
  await writeFile(updates, `deb [signed-by=${KEYRING}] ${uri} bookworm-updates main\n`);
  bundle = join(dir, 'two-sources.tar');
  const res = await cli(
    ['bundle', join(dir, 'repos', 'debian-12'), '-o', bundle, '--bin', join(dir, 'bin')],
    {
      ISOBUILD_APT_SOURCES: `${main}:${updates}`,
    },
  );
  if (res.exitCode !== 0) throw new Error(`isobuild bundle failed:\n${res.all}`);
  iso = (eventsOfType(res.stdout, 'output') as unknown as { path: string }[])[0]!.path;
  const layout = join(dir, 'layout');
  await mkdir(layout);
  await run('tar', ['-xf', bundle, '-C', layout]);
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const manifest = JSON.parse(
    await readFile(join(layout, 'blobs/sha256', index.manifests[0]!.digest.slice('sha256:'.length)), 'utf8'),
  ) as { layers: { annotations: Record<string, string> }[] };
  names = manifest.layers.map((l) => l.annotations['org.opencontainers.image.title']!);
  rebuiltIso = join(dir, 'rebuilt.iso');
  // --verbose: the rebuild's log then shows each command it ran (gpgv on each InRelease).
  rebuilt = await cli(
    ['--verbose', 'build', '--from-bundle', bundle, '-o', rebuiltIso, '--bin', join(dir, 'rebin')],
    {
      ISOBUILD_CACHE: join(dir, 'no-cache'),
    },
  );
}, 1_800_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('isobuild bundle with two apt sources files', () => {
  test('the bundle holds both files in order, the keyring, and each suite’s InRelease and lists', () => {
    expect(names.filter((n) => n.startsWith('apt/sources/'))).toEqual([
      'apt/sources/00/bookworm.sources',
      'apt/sources/01/updates.list',
    ]);
    expect(names).toContain('apt/keys/debian-archive-keyring.gpg');
    for (const suite of ['bookworm', 'bookworm-updates']) {
      expect(names.some((n) => n.endsWith(`_dists_${suite}_InRelease`))).toBe(true);
      expect(names.some((n) => n.endsWith(`_dists_${suite}_main_binary-amd64_Packages`))).toBe(true);
    }
    // Only the two sources' suites: the host's security suite is no source of this build.
    expect(names.some((n) => n.includes('bookworm-security'))).toBe(false);
  });

  test('build --from-bundle rebuilds it with no network: each source restored, the same ISO bytes', async () => {
    if (rebuilt.exitCode !== 0) throw new Error(`build --from-bundle failed:\n${rebuilt.all}`);
    expect(await sha256(rebuiltIso)).toBe(await sha256(iso));
    expect(rebuilt.stdout).toContain('unshare -n');
    // gpgv checked each suite's InRelease.
    const gpgv = rebuilt.stdout.split('\n').filter((l) => l.includes('gpgv') && l.includes('InRelease'));
    expect(gpgv.some((l) => /_dists_bookworm_InRelease/.test(l))).toBe(true);
    expect(gpgv.some((l) => /_dists_bookworm-updates_InRelease/.test(l))).toBe(true);
  });
});
