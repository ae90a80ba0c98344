import { diffManifests } from '../../../src/inventory/diff.js';
import type { Manifest } from '../../../src/inventory/manifest.js';

const base: Manifest = {
  manifestVersion: 1,
  generator: 'isobuild 0.1.0',
  repo: 'debian-12',
  target: 'bootstrap',
  format: 'iso',
  packagemanager: 'apt',
  distro: { id: 'debian', versionId: '12' },
  sourceDateEpoch: 0,
  output: { name: 'a.iso', size: 1, sha256: 'a'.repeat(64) },
  packages: [
    { name: 'bash', version: '5.2.15-2', arch: 'amd64' },
    { name: 'less', version: '590-2', arch: 'amd64' },
  ],
  isobuildFiles: [],
  initrdFiles: [
    { path: '/usr', type: 'dir', mode: '0755' },
    { path: '/usr/bin/bash', type: 'file', mode: '0755', size: 10, sha256: '1'.repeat(64) },
    { path: '/usr/bin/less', type: 'file', mode: '0755', size: 20, sha256: '2'.repeat(64) },
  ],
  stages: [
    {
      name: 'iso-base',
      key: 'k1',
      values: { base: ['bash'] },
      files: { 'base.sh': 'x' },
      toolVersions: ['apt 2.6'],
    },
    { name: 'staging', key: 'k2', values: { packages: ['less'] }, files: {}, toolVersions: ['apt 2.6'] },
  ],
};

describe('diffManifests', () => {
  test('names packages and initrd files added, removed and changed, and the first stage whose inputs differ', () => {
    const other: Manifest = {
      ...base,
      packages: [
        { name: 'bash', version: '5.2.15-3', arch: 'amd64' },
        { name: 'hello', version: '2.10-3', arch: 'amd64' },
      ],
      initrdFiles: [
        { path: '/usr', type: 'dir', mode: '0755' },
        { path: '/usr/bin/bash', type: 'file', mode: '0755', size: 11, sha256: '3'.repeat(64) },
        { path: '/usr/bin/hello', type: 'file', mode: '0755', size: 30, sha256: '4'.repeat(64) },
      ],
      stages: [base.stages[0]!, { ...base.stages[1]!, key: 'k3', values: { packages: ['hello'] } }],
    };
    const d = diffManifests(base, other);
    expect(d.packages.added.map((p) => p.name)).toEqual(['hello']);
    expect(d.packages.removed.map((p) => p.name)).toEqual(['less']);
    expect(d.packages.changed).toEqual([{ name: 'bash', arch: 'amd64', from: '5.2.15-2', to: '5.2.15-3' }]);
    expect(d.files.added.map((f) => f.path)).toEqual(['/usr/bin/hello']);
    expect(d.files.removed.map((f) => f.path)).toEqual(['/usr/bin/less']);
    expect(d.files.changed.map((f) => [f.path, f.from.size, f.to.size])).toEqual([['/usr/bin/bash', 10, 11]]);
    expect(d.firstStage).toEqual({
      stage: 'staging',
      keys: ['k2', 'k3'],
      values: ['packages'],
      files: [],
      toolVersions: false,
    });
    expect(d.stages).toBe('differ');
  });

  test('two manifests of the same build differ in nothing', () => {
    const d = diffManifests(base, structuredClone(base));
    expect([
      d.packages.added,
      d.packages.removed,
      d.packages.changed,
      d.files.added,
      d.files.removed,
      d.files.changed,
    ]).toEqual([[], [], [], [], [], []]);
    expect(d.firstStage).toBeUndefined();
    expect(d.stages).toBe('same');
    expect(d.packagesFrom).toBeUndefined();
  });

  test("another repo's build is compared stage by stage too", () => {
    const mine: Manifest = {
      ...base,
      repo: 'mine',
      stages: [{ ...base.stages[0]!, key: 'k9' }, base.stages[1]!],
    };
    expect(diffManifests(base, mine)).toMatchObject({ stages: 'differ', firstStage: { stage: 'iso-base' } });
    expect(diffManifests(base, { ...base, repo: 'mine' }).stages).toBe('other-repo');
  });
});
