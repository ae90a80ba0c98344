import '../../../src/pm/index.js';
import { join } from 'node:path';
import { parseSpecText } from '../../../src/spec/document.js';
import { scanRepoFolder } from '../../../src/spec/folder.js';
import { normaliseSpec } from '../../../src/spec/normalise.js';
import { secureBootChain } from '../../../src/spec/secure-boot-rules.js';
import type { RepoSpec } from '../../../src/spec/types.js';
import { BASE_SPEC, makeRepo, type RepoFixture } from './repo-fixture.js';

const fixtures: RepoFixture[] = [];
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.remove()));
});

async function check(spec: Record<string, unknown>, files: Record<string, string> = {}): Promise<string[]> {
  const text = JSON.stringify(spec, null, 2);
  const fixture = await makeRepo(String(spec.name), { 'repo-spec.json': text, ...files });
  fixtures.push(fixture);
  const specFile = join(fixture.dir, 'repo-spec.json');
  const folder = await scanRepoFolder(fixture.dir);
  const raw = spec as unknown as RepoSpec;
  const resolved = normaliseSpec(raw, fixture.dir, specFile, folder, []);
  const found = await secureBootChain.check({
    doc: parseSpecText(specFile, text),
    raw,
    spec: resolved,
    folder,
  });
  return found.map((f) => `${f.diagnostic.pointer}: ${f.diagnostic.message}`);
}

describe('secure-boot-chain', () => {
  test('debian with its signed kernel package passes', async () => {
    expect(await check({ ...BASE_SPEC, secure_boot: 'distribution' })).toEqual([]);
  });

  test('without secure_boot nothing is checked', async () => {
    expect(await check({ ...BASE_SPEC, packagemanager: 'tdnf', name: 'photon-2.0' })).toEqual([]);
  });

  test('an RPM repo has no chain isobuild knows', async () => {
    const spec = {
      ...BASE_SPEC,
      name: 'photon-2.0',
      packagemanager: 'tdnf',
      kernel: 'linux',
      secure_boot: 'distribution',
    };
    expect(await check(spec)).toEqual([
      expect.stringMatching(/^\/secure_boot: .*no signed boot chain for packagemanager tdnf/),
    ]);
  });

  test('an unsigned kernel package is refused, naming the signed one', async () => {
    const spec = { ...BASE_SPEC, kernel: 'linux-image-6.1.0-13-amd64-unsigned', secure_boot: 'distribution' };
    expect(await check(spec)).toEqual([
      expect.stringMatching(
        /the kernel linux-image-6\.1\.0-13-amd64-unsigned is unsigned: name the signed package \(linux-image-6\.1\.0-13-amd64\)/,
      ),
    ]);
  });

  test('a kernel package file is not the distribution signed kernel', async () => {
    const spec = {
      ...BASE_SPEC,
      kernel: 'kernel/linux-image-6.1.0-test_amd64.deb',
      secure_boot: 'distribution',
    };
    const found = await check(spec, { 'kernel/linux-image-6.1.0-test_amd64.deb': 'x' });
    expect(found).toEqual([
      expect.stringMatching(/is a package file, not the distribution's signed kernel package/),
    ]);
  });

  test('boot.uefi false leaves nothing to sign', async () => {
    const spec = { ...BASE_SPEC, boot: { uefi: false }, secure_boot: 'distribution' };
    expect(await check(spec)).toEqual([expect.stringMatching(/boot\.uefi is false/)]);
  });
});
