import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractFiles, openBundle, writeBundle } from '../../../src/bundle/bundle-layout.js';
import { parseBundleConfig } from '../../../src/bundle/bundle-config.js';
import { BundleError } from '../../../src/errors.js';

/** writeBundle/openBundle on small files, with the real tar: the same bytes twice, every tampering named. */
let dir: string;
let files: { name: string; from: string }[];
const config = {
  bundleVersion: 1,
  isobuild: '0.0.0',
  repo: 'r',
  repoFolder: 'r',
  packagemanager: 'apt',
  target: 'bootstrap',
  sourceDateEpoch: 0,
  outputs: [{ format: 'iso', name: 'bootstrap.iso', size: 1, sha256: 'a'.repeat(64) }],
};

const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-bundle-unit-'));
  await mkdir(join(dir, 'src'));
  files = [];
  for (const [name, text] of [
    ['repo/repo-spec.json', '{}'],
    ['apt/archives/a_1_amd64.deb', 'deb a'],
    ['apt/lists/x_dists_bookworm_InRelease', 'signed'],
  ] as const) {
    const from = join(dir, 'src', name.replaceAll('/', '_'));
    await writeFile(from, text);
    files.push({ name, from });
  }
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the same files give the same tar bytes, whatever order they come in', async () => {
  await writeBundle(join(dir, 'a.tar'), files, config, { tag: 'r-bootstrap', sourceDateEpoch: 0 });
  await writeBundle(join(dir, 'b.tar'), [...files].reverse(), config, {
    tag: 'r-bootstrap',
    sourceDateEpoch: 0,
  });
  expect(await sha(join(dir, 'a.tar'))).toBe(await sha(join(dir, 'b.tar')));
});

test('a bundle opens with every file, and its files extract under their names', async () => {
  await writeBundle(join(dir, 'b.tar'), files, config, { tag: 't', sourceDateEpoch: 0 });
  const opened = await openBundle(join(dir, 'b.tar'), join(dir, 'scratch'));
  try {
    expect([...opened.files.keys()].sort()).toEqual(files.map((f) => f.name).sort());
    expect(parseBundleConfig(opened.config, 'b.tar').repo).toBe('r');
    await extractFiles(opened, 'apt/', join(dir, 'out'));
    expect(await readFile(join(dir, 'out', 'archives', 'a_1_amd64.deb'), 'utf8')).toBe('deb a');
  } finally {
    await opened.close();
  }
  // The tar's unpacked copy is gone once closed.
  expect(await readdir(join(dir, 'scratch'))).toEqual([]);
});

describe('tampering is refused, naming the file', () => {
  let layout: string;
  let blobOf: (name: string) => Promise<string>;

  beforeEach(async () => {
    layout = join(dir, 'layout');
    await writeBundle(layout, files, config, { tag: 't', sourceDateEpoch: 0 });
    blobOf = async (name) => {
      const digest = createHash('sha256')
        .update(await readFile(files.find((f) => f.name === name)!.from))
        .digest('hex');
      return join(layout, 'blobs', 'sha256', digest);
    };
  });

  test.each([
    ['one byte changed', 'changed', async (blob: string) => writeFile(blob, 'deb b')],
    ['the file removed', 'missing', async (blob: string) => rm(blob)],
  ])('%s', async (_what, word, tamper) => {
    await tamper(await blobOf('apt/archives/a_1_amd64.deb'));
    const err = await openBundle(layout, join(dir, 'scratch')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect((err as BundleError).details).toEqual({ bundle: layout, file: 'apt/archives/a_1_amd64.deb' });
    expect((err as BundleError).message).toContain(word);
  });

  test('a layer dropped from the manifest: the manifest no longer has the digest the index names', async () => {
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const manifestBlob = join(layout, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7));
    const manifest = JSON.parse(await readFile(manifestBlob, 'utf8')) as { layers: unknown[] };
    manifest.layers.pop();
    await writeFile(manifestBlob, JSON.stringify(manifest));
    await expect(openBundle(layout, join(dir, 'scratch'))).rejects.toThrow(/manifest \(t\): changed/);
  });
});

test('a config from another bundle version is refused', () => {
  expect(() => parseBundleConfig({ ...config, bundleVersion: 2 }, 'x')).toThrow(/bundle version 2/);
});

describe('parseBundleConfig: kernelSource', () => {
  test('a file name in the bundle and a sha256 are read back', () => {
    const kernelSource = { name: 'apt/archives/linux-source-6.1_6.1.192-3_all.deb', sha256: 'b'.repeat(64) };
    expect(parseBundleConfig({ ...config, kernelSource }, 'b.tar').kernelSource).toEqual(kernelSource);
  });

  test.each([
    ['a path out of the bundle', { name: 'repo/../../etc/passwd', sha256: 'b'.repeat(64) }],
    ['an absolute path', { name: '/etc/passwd', sha256: 'b'.repeat(64) }],
    ['no sha256', { name: 'repo/linux.tar.xz' }],
  ])('%s is refused naming the config', (_why, kernelSource) => {
    expect(() => parseBundleConfig({ ...config, kernelSource }, 'b.tar')).toThrow(
      expect.objectContaining({ details: { bundle: 'b.tar', file: 'config' } }) as Error,
    );
  });
});
