import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { run } from '../../src/exec/run.js';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import { cacheLayout, type CacheEntry } from '../../src/cache/cache.js';
import { checkEntry, readManifest } from '../../src/cache/cache-integrity.js';
import { makePlan } from '../../src/pipeline/plan.js';
import { runPipeline } from '../../src/pipeline/run-pipeline.js';
import { explainPlan, formatExplanation } from '../../src/pipeline/explain.js';
import type { ResolvedSpec } from '../../src/spec/types.js';
import { ARTIFACTS } from '../../src/image/artifacts.js';

// Incremental roots with the real mmdebstrap and apt-get: a debian-12 iso-base built cold, then
// the same spec with one more base package grown from it in the same cache, and built cold in a
// second cache whose package cache is a copy of the first's. Both caches use the same package
// lists (the copy's, fetched once at the first build), so the mirror's changes during the day
// cannot make the two differ.

let tmp: DirectoryResult;
const KERNEL = 'linux-image-cloud-amd64';
const EPOCH = 1700000000;

function makeSpec(repoDir: string, base: string[]): ResolvedSpec {
  return {
    name: 'deb-incr',
    repoDir,
    specFile: join(repoDir, 'repo-spec.json'),
    packagemanager: 'apt',
    arch: 'amd64',
    kernel: { kind: 'package', name: KERNEL },
    init: '/bin/init',
    release: 'bookworm',
    packages: { base, bootstrap: [], appliance: [] },
    stagingScript: { bootstrap: [], appliance: [] },
    repoFiles: [],
    gpgKeys: [],
    apt: { variant: 'essential', components: ['main'] },
    hooks: {},
    drivers: { common: true, repo: [], spec: [] },
    // Only the drivers' modules: the small initrd stays small, so the later stages are quick.
    modules: 'drivers',
    kernelInstall: 'files',
    bootstrapInitrd: 'small',
    docs: false,
    locales: [],
    unowned: 'list',
    packageListsMaxAge: 86400,
    compression: 'gzip',
    boot: { bios: true, uefi: true },
    uki: false,
    cmdline: '',
    microvm: { vcpus: 1, memory: 256, cmdline: '' },
    tests: [],
    budget: {},
    profile: 'isobuild',
    raw: {} as ResolvedSpec['raw'],
  };
}

/**
 * A build up to `target` (the whole bootstrap ISO by default, so that early cutoff is seen: the
 * small bootstrap's minimised root does not change when less is added); its iso-base's entry
 * and log, and the stage lines the build printed.
 */
async function buildIsoBase(
  cacheRoot: string,
  base: string[],
  target: 'bootstrap' | 'iso-base' = 'bootstrap',
) {
  const repoDir = join(tmp.path, 'repos', 'deb-incr');
  await mkdir(repoDir, { recursive: true });
  const plan = makePlan(makeSpec(repoDir, base), target, {
    cacheRoot,
    outputDir: join(tmp.path, 'bin'),
    noCache: false,
    lockTimeout: 0,
    sourceDateEpoch: EPOCH,
  });
  const explained = (await explainPlan(plan, cacheLayout(cacheRoot))).map(formatExplanation);
  const lines: string[] = [];
  const logger: Logger = { ...silentLogger, event: (_, human) => void (human && lines.push(human)) };
  const result = await runPipeline(plan, logger);
  const log = await readFile(join(cacheLayout(cacheRoot).logs('deb-incr'), 'iso-base.log'), 'utf8');
  const status = Object.fromEntries(result.outcomes.map((o) => [o.stage, o.status]));
  return { entry: result.entries[0]!, key: result.outcomes[0]!.key, log, explained, lines, status, result };
}

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/**
 * The entry's trees as its manifest records them (type, mode, owner, size, sha256 of each
 * file; device nodes by type, never read), without times, by tree and path.
 */
async function recordedTrees(entry: CacheEntry): Promise<Map<string, string>> {
  const manifest = (await readManifest(entry.dir))!;
  const out = new Map<string, string>();
  for (const [name, t] of Object.entries(manifest.trees))
    for (const e of 'entries' in t ? t.entries : [])
      out.set(`${name}/${e[0]}`, JSON.stringify([...e.slice(1, 6), e[7]]));
  return out;
}

/** The paths whose records differ between two entries, with both records. */
async function treeDifferences(a: CacheEntry, b: CacheEntry): Promise<string[]> {
  const [x, y] = [await recordedTrees(a), await recordedTrees(b)];
  const paths = [...new Set([...x.keys(), ...y.keys()])].sort();
  return paths.filter((p) => x.get(p) !== y.get(p)).map((p) => `${p}: ${x.get(p)} | ${y.get(p)}`);
}

let cold: Awaited<ReturnType<typeof buildIsoBase>>;
let grown: Awaited<ReturnType<typeof buildIsoBase>>;
let coldOfGrown: Awaited<ReturnType<typeof buildIsoBase>>;
let cacheA: string;

beforeAll(async () => {
  tmp = await tmpDir({ unsafeCleanup: true, prefix: 'isobuild-incr-' });
  cacheA = join(tmp.path, 'cache-a');
  const cacheB = join(tmp.path, 'cache-b');
  cold = await buildIsoBase(cacheA, ['busybox', 'kmod']);
  // Cache B starts from the package cache (lists and .debs) the first build left.
  await mkdir(cacheB);
  await run('cp', ['-a', cacheLayout(cacheA).packages, cacheLayout(cacheB).packages]);
  grown = await buildIsoBase(cacheA, ['busybox', 'kmod', 'less']);
  coldOfGrown = await buildIsoBase(cacheB, ['busybox', 'kmod', 'less']);
}, 1_800_000);

afterAll(async () => {
  await tmp?.cleanup();
});

test('adding a base package grows the cached root instead of setting up from nothing', () => {
  const from = `incremental from ${cold.key.slice(0, 8)} (+less)`;
  expect(grown.log).toContain(`iso-base: ${from}`);
  expect(grown.log).not.toMatch(/\$ mmdebstrap/);
  expect(grown.explained[0]).toMatch(
    new RegExp(`^iso-base: rebuild, because .*; ${from.replace(/[()+]/g, '\\$&')}$`),
  );
  expect(grown.entry.meta.grownFrom).toBe(cold.key);
  // The cold build in the other cache had nothing to grow from.
  expect(coldOfGrown.log).toMatch(/\$ mmdebstrap/);
  expect(coldOfGrown.log).not.toContain('incremental from');
});

test('the grown root is the same bytes as a cold build of the same spec, under the same key', async () => {
  expect(grown.key).toBe(coldOfGrown.key);
  expect((await recordedTrees(grown.entry)).has('rootfs/usr/bin/less')).toBe(true);
  expect(await treeDifferences(grown.entry, coldOfGrown.entry)).toEqual([]);
  // The grown entry's manifest reused its base's digests of unchanged files: every file is read again.
  expect(await checkEntry(grown.entry.dir, 'full')).toEqual([]);
  // And it differs from the root it grew from, by the added package.
  expect((await treeDifferences(grown.entry, cold.entry)).length).toBeGreaterThan(0);
  const status = await readFile(join(grown.entry.rootfs, 'var/lib/dpkg/status'), 'utf8');
  expect(status).toMatch(/^Package: less$/m);
}, 600_000);

test("early cutoff: the minimised root is unchanged, so the ISO is reused and has a cold build's bytes", async () => {
  // The root changed up to the minimise stage, whose output is the cold build's.
  expect(grown.status).toMatchObject({
    'iso-base': 'built',
    staging: 'built',
    drivers: 'built',
    minimise: 'built',
  });
  expect(grown.lines).toContainEqual(
    expect.stringMatching(
      /minimise: built in .* \(inputs changed but output identical to [0-9a-f]{8}'s: later stages reused\)$/,
    ),
  );
  // The stages after it are the first build's entries, not built again.
  const minimise = grown.result.outcomes.findIndex((o) => o.stage === 'minimise');
  const later = grown.result.outcomes.slice(minimise + 1);
  expect(later.map((o) => o.stage)).toEqual(expect.arrayContaining(['initrd', 'iso']));
  for (const o of later) expect(o.status).not.toBe('built');
  expect(grown.result.final.key).toBe(cold.result.final.key);
  // The ISO it hands out is, byte for byte, the one a cold build of the grown spec makes.
  const iso = (r: typeof cold) => join(r.result.final.artifacts, ARTIFACTS.iso);
  expect(await sha256Of(iso(grown))).toBe(await sha256Of(iso(coldOfGrown)));
  // A cold build's minimise output is the same, so it records the same first key to build on.
  expect(coldOfGrown.status.minimise).toBe('built');
  // plan --explain after the grown build: everything cached, the cutoff said at minimise.
  const again = await buildIsoBase(cacheA, ['busybox', 'kmod', 'less']);
  expect(Object.values(again.status)).not.toContain('built');
  expect(again.explained).toContainEqual(
    expect.stringMatching(
      /^minimise: cached \(inputs changed but output identical to [0-9a-f]{8}'s: later stages reused\)$/,
    ),
  );
}, 600_000);

test('removing a base package builds from nothing and says why', async () => {
  const removed = await buildIsoBase(cacheA, ['busybox', 'less'], 'iso-base');
  expect(removed.log).toContain('iso-base: full build (no incremental root: ');
  expect(removed.log).toMatch(/packages removed from packages\.base \(-kmod\)/);
  expect(removed.log).toMatch(/\$ mmdebstrap/);
  expect(removed.entry.meta.grownFrom).toBeUndefined();
}, 1_200_000);
