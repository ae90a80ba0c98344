import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { cacheLayout } from '../../../src/cache/cache.js';
import { describeValueChange } from '../../../src/pipeline/explain.js';
import { makePlan } from '../../../src/pipeline/plan.js';
import { linkStages } from '../../../src/pipeline/stage-keys.js';
import type { BuildPlan, Stage } from '../../../src/stage/types.js';
import { diskImageStage } from '../../../src/stages/disk-image.js';
import { isoStage } from '../../../src/stages/iso.js';
import { makeSpec } from '../../helpers/stage-context.js';

/**
 * secure_boot "distribution": the ISO's and the disk's keys hold the versions of the signed
 * chain's packages that the package cache's lists offer (real apt-cache over lists this test
 * writes for a mirror that does not exist, as `apt-get update` would have left them). No
 * network: apt-cache reads the lists only.
 */
let tmp: DirectoryResult;
let lists: string;
let plan: (target: 'bootstrap' | 'appliance-disk') => BuildPlan;

const LIST = 'mirror.invalid_debian_dists_bookworm_main_binary-amd64_Packages';

async function writeLists(versions: Record<string, string>): Promise<void> {
  const stanzas = Object.entries(versions).map(
    ([pkg, version]) =>
      `Package: ${pkg}\nVersion: ${version}\nArchitecture: amd64\nFilename: pool/main/${pkg[0]}/${pkg}/${pkg}_${version}_amd64.deb\nSize: 1\nSHA256: ${'0'.repeat(64)}\nDescription: test\n`,
  );
  await writeFile(join(lists, LIST), stanzas.join('\n'));
}

beforeAll(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  const sources = join(tmp.path, 'sources.list');
  await writeFile(sources, 'deb [trusted=yes] http://mirror.invalid/debian bookworm main\n');
  const cacheRoot = join(tmp.path, 'cache');
  lists = join(cacheLayout(cacheRoot).packagesFor('amd64'), 'apt', 'lists');
  await mkdir(lists, { recursive: true });
  const spec = makeSpec({
    secureBoot: 'distribution',
    apt: { variant: 'minbase', components: ['main'], sources },
  });
  const options = {
    cacheRoot,
    outputDir: join(tmp.path, 'bin'),
    noCache: false,
    lockTimeout: 0,
    sourceDateEpoch: 0,
  };
  plan = (target) => makePlan(spec, target, options);
});
afterAll(async () => {
  await tmp.cleanup();
});

/** The stage's key and the facts it was made from, as the pipeline computes them. */
async function keyOf(stage: Stage, target: 'bootstrap' | 'appliance-disk') {
  const linked = await linkStages({ ...plan(target), stages: [stage] });
  const values = linked.records[0]!.values as { facts: Record<string, unknown> };
  return { key: linked.links[0]!.key, facts: values.facts };
}

test.each([
  ['iso', isoStage, 'bootstrap'],
  ['disk-image', diskImageStage, 'appliance-disk'],
] as const)(
  '%s: a new shim in the lists is a new key, and explain names the package and both versions',
  async (_name, stage, target) => {
    await writeLists({
      'shim-signed': '1.39+15.7-1',
      'grub-efi-amd64-signed': '1+2.06+13',
      'linux-image-cloud-amd64': '6.1.112-1',
    });
    const before = await keyOf(stage, target);
    expect(before.facts.signedChain).toEqual({
      'shim-signed': '1.39+15.7-1',
      'grub-efi-amd64-signed': '1+2.06+13',
      'linux-image-cloud-amd64': '6.1.112-1',
    });
    expect((await keyOf(stage, target)).key).toBe(before.key);

    await writeLists({
      'shim-signed': '1.44+15.8-1',
      'grub-efi-amd64-signed': '1+2.06+13',
      'linux-image-cloud-amd64': '6.1.112-1',
    });
    const after = await keyOf(stage, target);
    expect(after.key).not.toBe(before.key);
    expect(describeValueChange('facts', before.facts, after.facts)).toEqual([
      'spec facts.signedChain.shim-signed changed (1.39+15.7-1 → 1.44+15.8-1)',
    ]);
  },
  60_000,
);

test('lists without the chain read null (none fetched yet), not an error', async () => {
  await writeLists({ busybox: '1:1.35.0-4' });
  expect((await keyOf(isoStage, 'bootstrap')).facts.signedChain).toEqual({
    'shim-signed': null,
    'grub-efi-amd64-signed': null,
    'linux-image-cloud-amd64': null,
  });
}, 60_000);
