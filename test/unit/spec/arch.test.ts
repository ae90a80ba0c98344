// The package managers a spec is checked against: src/pm/index.ts hands them to src/spec/.
import '../../../src/pm/index.js';
import { join } from 'node:path';
import { loadRepoFolder } from '../../../src/spec/load.js';
import { kernelPackageFor } from '../../../src/spec/arch.js';
import type { SpecOverrides } from '../../../src/spec/normalise.js';
import { BASE_SPEC, makeRepo, type RepoFixture } from './repo-fixture.js';

const fixtures: RepoFixture[] = [];
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.remove()));
});

/** Loads a debian-12 folder holding `spec`; errors as "pointer: message [rule]". */
async function load(spec: Record<string, unknown>, overrides: SpecOverrides = {}) {
  const fixture = await makeRepo('debian-12', { 'repo-spec.json': JSON.stringify(spec, null, 2) });
  fixtures.push(fixture);
  const result = await loadRepoFolder(join(fixture.dir), overrides);
  return {
    spec: result.spec,
    errors: result.errors.map((e) => `${e.pointer}: ${e.message}${e.rule ? ` [${e.rule}]` : ''}`),
  };
}

describe('arch in the spec', () => {
  test('amd64 is the default, with BIOS and UEFI', async () => {
    const { spec, errors } = await load(BASE_SPEC);
    expect(errors).toEqual([]);
    expect(spec?.arch).toBe('amd64');
    expect(spec?.boot).toEqual({ bios: true, uefi: true });
  });

  test('arm64 boots under UEFI only, and the kernel flavour follows it', async () => {
    const { spec, errors } = await load({ ...BASE_SPEC, arch: 'arm64' });
    expect(errors).toEqual([]);
    expect(spec?.boot).toEqual({ bios: false, uefi: true });
    expect(spec?.kernel).toEqual({ kind: 'package', name: 'linux-image-cloud-arm64' });
  });

  test.each([
    [
      'riscv64 in the spec',
      { ...BASE_SPEC, arch: 'riscv64' },
      {},
      /^\/arch: must be one of "amd64", "arm64"/,
    ],
    [
      'BIOS asked for arm64',
      { ...BASE_SPEC, arch: 'arm64', boot: { bios: true } },
      {},
      /^\/boot\/bios: arch arm64 \(from the spec\) has no BIOS boot, only UEFI: set boot.bios to false or drop it \[arch-firmware\]$/,
    ],
    [
      'BIOS asked for by a spec that --arch arm64 builds',
      { ...BASE_SPEC, boot: { bios: true, uefi: true } },
      { arch: 'arm64' },
      /^\/boot\/bios: arch arm64 \(from --arch\) has no BIOS boot/,
    ],
    [
      'an RPM root for arm64',
      { ...BASE_SPEC, name: 'debian-12', packagemanager: 'tdnf', release: '5.0', arch: 'arm64' },
      {},
      /^\/packagemanager: arch arm64 \(from the spec\): only apt roots are built for another architecture.*\[arch-cross\]$/,
    ],
    [
      'a kernel built from source for arm64',
      {
        ...BASE_SPEC,
        arch: 'arm64',
        kernel: { source: 'linux-source-6.1', config: 'microvm', builtin: 'drivers' },
      },
      {},
      /^\/kernel: arch arm64 \(from the spec\): a kernel built from source is amd64 only today/,
    ],
    [
      'secure_boot for arm64',
      { ...BASE_SPEC, arch: 'arm64', secure_boot: 'distribution' },
      {},
      /^\/secure_boot: arch arm64 \(from the spec\): secure_boot is amd64 only/,
    ],
  ] as const)('%s fails at validate time', async (_, spec, overrides, message) => {
    const { spec: resolved, errors } = await load(spec, overrides as SpecOverrides);
    expect(resolved).toBeUndefined();
    expect(errors.some((e) => message.test(e))).toBe(true);
  });
});

describe('kernelPackageFor', () => {
  test.each([
    ['linux-image-cloud-amd64', 'arm64', 'linux-image-cloud-arm64'],
    ['linux-image-amd64', 'arm64', 'linux-image-arm64'],
    ['linux-image-cloud-arm64', 'amd64', 'linux-image-cloud-amd64'],
    ['linux-image-cloud-amd64', 'amd64', 'linux-image-cloud-amd64'],
    ['linux-esx', 'arm64', 'linux-esx'],
  ] as const)('%s for %s is %s', (name, arch, want) => {
    expect(kernelPackageFor(name, arch)).toBe(want);
  });
});
