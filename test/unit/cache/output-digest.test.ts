// The package managers a spec is checked against: src/pm/index.ts hands them to src/spec/.
import '../../../src/pm/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canonicalKey,
  outputDigest,
  recordOutput,
  REPORT_ARTIFACTS,
} from '../../../src/cache/output-digest.js';
import { MANIFEST_FORMAT, type Manifest, type ManifestEntry } from '../../../src/cache/cache-integrity.js';
import { makePlan } from '../../../src/pipeline/plan.js';
import { linkStages } from '../../../src/pipeline/stage-keys.js';
import { loadRepoFolder } from '../../../src/spec/load.js';

// Early cutoff's keying, without builds: what the output digest covers, the first key of an
// output, and linkStages keying a child on its parent's first key.

const KEY_A = 'a'.repeat(24);
const KEY_B = 'b'.repeat(24);
const KEY_C = 'c'.repeat(24);

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'isobuild-output-digest-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const file = (path: string, digest: string, mtime = '1700000000000000000'): ManifestEntry => [
  path,
  'f',
  0o644,
  0,
  0,
  10,
  mtime,
  digest,
];

function manifest(rootfs: ManifestEntry[], artifacts: ManifestEntry[] = [], key = KEY_A): Manifest {
  return {
    format: MANIFEST_FORMAT,
    stage: 'minimise',
    key,
    meta: 'differs with meta.json',
    trees: { rootfs: { entries: rootfs }, bootfs: { entries: [] }, artifacts: { entries: artifacts } },
  };
}

describe('outputDigest', () => {
  const root = [file('bin/busybox', '1'.repeat(64))];

  test('is the same for the same trees and meta, whatever the key, the meta.json digest or the meta order', () => {
    const a = outputDigest(manifest(root, [], KEY_A), { kernelVersion: '6.1', drivers: ['x'] }, KEY_C);
    const b = outputDigest(manifest(root, [], KEY_B), { drivers: ['x'], kernelVersion: '6.1' }, KEY_B);
    expect(a).toBe(b);
  });

  test("changes with a file's content, its time or a meta member a later stage reads", () => {
    const base = outputDigest(manifest(root), { kernelVersion: '6.1' }, null);
    expect(
      outputDigest(manifest([file('bin/busybox', '2'.repeat(64))]), { kernelVersion: '6.1' }, null),
    ).not.toBe(base);
    expect(
      outputDigest(manifest([file('bin/busybox', '1'.repeat(64), '1')]), { kernelVersion: '6.1' }, null),
    ).not.toBe(base);
    expect(outputDigest(manifest(root), { kernelVersion: '6.2' }, null)).not.toBe(base);
  });

  test('leaves out the reports of how the stage got there (grownFrom, minimise sizes, minimise-manifest.json)', () => {
    const base = outputDigest(manifest(root), { kernelVersion: '6.1' }, null);
    const report = [file(REPORT_ARTIFACTS[0]!, '3'.repeat(64))];
    const meta = { kernelVersion: '6.1', grownFrom: KEY_B, minimise: { before: { files: 9, bytes: 9 } } };
    expect(outputDigest(manifest(root, report), meta, null)).toBe(base);
    // Any other artifact counts.
    expect(
      outputDigest(manifest(root, [file('initrd.img', '3'.repeat(64))]), { kernelVersion: '6.1' }, null),
    ).not.toBe(base);
  });

  test("a tree shared with the parent counts as the parent's key, not as the link's target", () => {
    const shared = (target: string): Manifest => ({
      ...manifest([]),
      trees: { rootfs: { link: target }, bootfs: { link: target }, artifacts: { entries: [] } },
    });
    const meta = { kernelVersion: '6.1' };
    expect(outputDigest(shared('../r1/tether-x/rootfs'), meta, KEY_A)).toBe(
      outputDigest(shared('../r2/tether-y/rootfs'), meta, KEY_A),
    );
    expect(outputDigest(shared('../r1/tether-x/rootfs'), meta, KEY_A)).not.toBe(
      outputDigest(shared('../r1/tether-x/rootfs'), meta, KEY_B),
    );
  });
});

describe('recordOutput and canonicalKey', () => {
  test("the first key of an output is every later same output's canonical key", async () => {
    expect(await recordOutput(tmp, 'minimise', KEY_A, 'd1')).toBe(KEY_A);
    expect(await recordOutput(tmp, 'minimise', KEY_B, 'd1')).toBe(KEY_A);
    expect(await canonicalKey(tmp, 'minimise', KEY_B)).toBe(KEY_A);
    expect(await canonicalKey(tmp, 'minimise', KEY_A)).toBe(KEY_A);
    // Another stage's outputs are its own.
    expect(await canonicalKey(tmp, 'drivers', KEY_B)).toBe(KEY_B);
    expect(await recordOutput(tmp, 'drivers', KEY_B, 'd1')).toBe(KEY_B);
  });

  test('a key rebuilt with another output no longer names the old first key', async () => {
    await recordOutput(tmp, 'minimise', KEY_A, 'd1');
    await recordOutput(tmp, 'minimise', KEY_B, 'd1');
    expect(await recordOutput(tmp, 'minimise', KEY_B, 'd2')).toBe(KEY_B);
    expect(await canonicalKey(tmp, 'minimise', KEY_B)).toBe(KEY_B);
  });

  test('an unknown key is its own', async () => {
    expect(await canonicalKey(tmp, 'minimise', KEY_C)).toBe(KEY_C);
  });
});

describe('linkStages with early cutoff', () => {
  test("a child is keyed on its parent's first key of the same output, and only then", async () => {
    const loaded = await loadRepoFolder(join('repos', 'debian-12'));
    const plan = makePlan(loaded.spec!, 'bootstrap', {
      cacheRoot: tmp,
      outputDir: join(tmp, 'bin'),
      noCache: false,
      lockTimeout: 0,
      sourceDateEpoch: 0,
    });
    const before = (await linkStages(plan)).links;
    const m = before.findIndex((l) => l.stage === 'minimise');
    expect(m).toBeGreaterThan(0);
    // minimise's key made the output an earlier key (KEY_A) made first.
    await recordOutput(tmp, 'minimise', KEY_A, 'd1');
    await recordOutput(tmp, 'minimise', before[m]!.key, 'd1');
    const after = (await linkStages(plan)).links;
    expect(after.slice(0, m + 1)).toEqual(before.slice(0, m + 1));
    expect(after[m + 1]!.parentKey).toBe(KEY_A);
    for (let i = m + 1; i < after.length; i++) expect(after[i]!.key).not.toBe(before[i]!.key);
    // The child of KEY_A itself gets the same key: that is what makes its entry found.
    await rm(join(tmp, 'outputs'), { recursive: true });
    await recordOutput(tmp, 'minimise', before[m]!.key, 'd1');
    expect((await linkStages(plan)).links).toEqual(before);
  }, 120_000);
});
