import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import type { Manifest } from '../../../src/inventory/manifest.js';
import { parseEvents } from '../../helpers/json-events.js';
import { checkCliBuilt, runCli } from './run-cli.js';

// `isobuild diff` on two hand-written manifests (no build): its verdict on the stages must agree
// with the package and file lists it prints above it, and its exit status says whether they differ.
beforeAll(checkCliBuilt);
let tmp: DirectoryResult;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
});
afterEach(() => tmp.cleanup());

const stages: Manifest['stages'] = [
  { name: 'iso-base', key: 'k1', values: { base: ['bash'] }, files: {}, toolVersions: [] },
  { name: 'staging', key: 'k2', values: { packages: ['less'] }, files: {}, toolVersions: [] },
];

const manifest = (o: Partial<Manifest> = {}): Manifest => ({
  manifestVersion: 1,
  generator: 'isobuild 0.1.0',
  repo: 'debian-12',
  target: 'bootstrap',
  format: 'iso',
  packagemanager: 'apt',
  distro: { id: 'debian', versionId: '12' },
  sourceDateEpoch: 0,
  output: { name: 'a.iso', size: 1, sha256: 'a'.repeat(64) },
  packagesFrom: 'staging',
  packages: [
    { name: 'bash', version: '5.2.15-2', arch: 'amd64' },
    { name: 'less', version: '590-2', arch: 'amd64' },
  ],
  isobuildFiles: [],
  initrdFiles: [],
  stages,
  ...o,
});

async function diff(a: Manifest, b: Manifest, json = false) {
  const [fa, fb] = [join(tmp.path, 'a.manifest.json'), join(tmp.path, 'b.manifest.json')];
  await writeFile(fa, JSON.stringify(a));
  await writeFile(fb, JSON.stringify(b));
  return runCli([...(json ? ['--json'] : []), 'diff', fa, fb], tmp.path, {
    ISOBUILD_CACHE: join(tmp.path, 'cache'),
  });
}

const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1);

test('the same outputs: the same inputs, exit 0', async () => {
  const r = await diff(manifest(), manifest());
  expect(r.code).toBe(0);
  expect(lastLine(r.stdout)).toBe('stages: the same inputs for every stage both builds ran');
});

test('same inputs, other package versions: a mirror update, not "nothing differs"; exit 1', async () => {
  const later = manifest({
    packages: [{ name: 'bash', version: '5.2.15-3', arch: 'amd64' }, manifest().packages[1]!],
  });
  const r = await diff(manifest(), later);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('  ~ bash (amd64): 5.2.15-2 → 5.2.15-3');
  expect(lastLine(r.stdout)).toBe(
    'stages: the same inputs for every stage both builds ran, yet the packages differ: the package sources changed between the builds (a mirror update: the same inputs resolved to other versions)',
  );
});

test('package lists read from different stages are said to be, with the stages', async () => {
  const fromBase = manifest({ packagesFrom: 'iso-base', packages: [manifest().packages[0]!] });
  const r = await diff(manifest(), fromBase);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('packages: 0 added, 1 removed, 0 changed');
  expect(lastLine(r.stdout)).toMatch(
    /^stages: the same inputs for every stage both builds ran; the package lists were read from different stages' roots \(staging, iso-base: /,
  );
});

test('different repos and different targets are not compared, and not called the same', async () => {
  const other = await diff(manifest(), manifest({ repo: 'mine' }));
  expect(other.code).toBe(1);
  expect(lastLine(other.stdout)).toBe('stages: not compared (builds of different repos: debian-12, mine)');
  const otherStages = manifest({ stages: [stages[0]!, { ...stages[1]!, name: 'initrd' }] });
  expect(lastLine((await diff(manifest(), otherStages)).stdout)).toBe(
    'stages: not compared (the builds ran different stages: other targets)',
  );
});

test('a differing stage is named; --json says how the stages compare', async () => {
  const changed = manifest({
    stages: [stages[0]!, { ...stages[1]!, key: 'k3', values: { packages: ['hello'] } }],
  });
  const r = await diff(manifest(), changed);
  expect(r.code).toBe(1);
  expect(lastLine(r.stdout)).toBe(
    'first stage whose inputs differ: staging (spec values: packages), not both in this cache',
  );
  const json = await diff(manifest(), changed, true);
  expect(json.code).toBe(1);
  expect(parseEvents(json.stdout)).toEqual([
    expect.objectContaining({
      type: 'diff',
      stages: 'differ',
      firstStage: expect.objectContaining({ stage: 'staging' }),
    }),
  ]);
});
