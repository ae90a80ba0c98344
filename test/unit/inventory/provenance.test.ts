import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '../../../src/inventory/manifest.js';
import { makeProvenance } from '../../../src/inventory/provenance.js';

const manifest: Manifest = {
  manifestVersion: 1,
  generator: 'isobuild 0.1.0',
  repo: 'debian-12',
  target: 'firecracker',
  format: 'firecracker',
  packagemanager: 'apt',
  distro: { id: 'debian', versionId: '12' },
  sourceDateEpoch: 1700000000,
  output: {
    name: 'fc',
    size: 2,
    sha256: 'a'.repeat(64),
    files: [
      { name: 'vmlinux', size: 1, sha256: 'b'.repeat(64) },
      { name: 'rootfs.ext4', size: 1, sha256: 'c'.repeat(64) },
    ],
  },
  packages: [
    {
      name: 'bash',
      version: '5.2.15-2+b2',
      arch: 'amd64',
      sha256: 'd'.repeat(64),
      origin: 'Debian bookworm/main',
    },
    { name: 'libc6', version: '2.36-9', arch: 'amd64', source: 'glibc' },
  ],
  isobuildFiles: [],
  initrdFiles: [],
  stages: [
    {
      name: 'kernel',
      key: 'k1',
      values: {},
      files: { 'linux-6.1.tar.xz': 'e'.repeat(64) },
      toolVersions: ['make: GNU Make 4.3', 'gcc: gcc 12.2.0'],
    },
    { name: 'staging', key: 'k2', values: {}, files: {}, toolVersions: ['make: GNU Make 4.3'] },
  ],
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-provenance-'));
  await writeFile(join(dir, 'repo-spec.json'), '{}');
  await writeFile(join(dir, 'isobuild.lock'), 'lock');
  await writeFile(join(dir, 'm.json'), 'm');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const make = () =>
  makeProvenance({
    manifest,
    specFile: join(dir, 'repo-spec.json'),
    lockFile: join(dir, 'isobuild.lock'),
    locked: true,
    packagemanager: 'deb',
    byproducts: [join(dir, 'm.json')],
  });

test("a folder output's files are its subjects; the spec and the lock are parameters by digest", async () => {
  const s = await make();
  expect(s.subject).toEqual([
    { name: 'fc/vmlinux', digest: { sha256: 'b'.repeat(64) } },
    { name: 'fc/rootfs.ext4', digest: { sha256: 'c'.repeat(64) } },
  ]);
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  expect(s.predicate.buildDefinition.externalParameters).toMatchObject({
    repoSpec: { name: 'repo-spec.json', digest: { sha256: sha('{}') } },
    target: 'firecracker',
    lock: { name: 'isobuild.lock', digest: { sha256: sha('lock') }, locked: true },
  });
});

test('packages by package URL, the kernel source as an input, each tool once', async () => {
  const deps = (await make()).predicate.buildDefinition.resolvedDependencies;
  expect(deps).toContainEqual({
    name: 'bash',
    uri: 'pkg:deb/debian/bash@5.2.15-2+b2?arch=amd64&distro=debian-12',
    digest: { sha256: 'd'.repeat(64) },
    annotations: { role: 'package', origin: 'Debian bookworm/main' },
  });
  expect(deps).toContainEqual(
    expect.objectContaining({
      name: 'linux-6.1.tar.xz',
      digest: { 'isobuild-hashpath-sha256': 'e'.repeat(64) },
    }),
  );
  expect(deps.filter((d) => d.annotations?.role === 'tool').map((d) => d.name)).toEqual(['gcc', 'make']);
});

test('the same inputs give the same statement, with no path or clock of the build host in it', async () => {
  const [a, b] = [JSON.stringify(await make()), JSON.stringify(await make())];
  expect(a).toBe(b);
  expect(a).not.toContain(dir);
  expect(a).not.toMatch(/"\d{4}-\d\d-\d\dT/);
});
