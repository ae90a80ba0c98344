// The package managers a spec is checked against: src/pm/index.ts hands them to src/spec/.
import '../../../src/pm/index.js';
import type { FolderContents } from '../../../src/spec/folder.js';
import { deepFreeze, isKernelPath, normaliseSpec, splitWords } from '../../../src/spec/normalise.js';
import type { RepoSpec } from '../../../src/spec/types.js';

const EMPTY_FOLDER: FolderContents = {
  specFiles: [],
  repoFiles: [],
  gpgKeys: [],
  sourcesFiles: [],
  hooks: {},
};

const raw = (o: Partial<RepoSpec> = {}): RepoSpec => ({
  name: 'photon-2.0',
  packagemanager: 'tdnf',
  kernel: 'linux-esx',
  init: '/bin/init',
  packages: { base: 'filesystem  toybox\tkmod\n haveged ' },
  ...o,
});

describe('normaliseSpec', () => {
  test('splits package strings, applies every default', () => {
    const s = normaliseSpec(raw(), '/repos/photon-2.0', '/repos/photon-2.0/repo-spec.json', EMPTY_FOLDER, []);
    expect(s.packages).toEqual({
      base: ['filesystem', 'toybox', 'kmod', 'haveged'],
      bootstrap: [],
      appliance: [],
    });
    expect(s.stagingScript).toEqual({ bootstrap: [], appliance: [] });
    expect(s.release).toBe('2.0');
    expect(s.modules).toBe('all');
    expect(s.compression).toBe('auto');
    expect(s.boot).toEqual({ bios: true, uefi: true });
    expect(s.apt).toEqual({ variant: 'essential', components: ['main'] });
    expect(s.cmdline).toBe('');
    expect(s.kernel).toEqual({ kind: 'package', name: 'linux-esx' });
    expect(s.drivers).toEqual({ common: true, repo: [], spec: [] });
  });

  test('keeps arrays, splits staging scripts, resolves paths against the repo folder', () => {
    const s = normaliseSpec(
      raw({
        packages: { base: ['a', 'b'], appliance: 'c d' },
        packages_script_staging: { appliance: ' erase  toybox ' },
        kernel: 'kernels/linux-4.19.rpm',
        tether: 'bin/tether-linux',
        boot: { bios: false },
        release: '2.0-updates',
        drivers: ['vmxnet3'],
        common_drivers: false,
      }),
      '/repos/photon-2.0',
      '/repos/photon-2.0/repo-spec.json',
      EMPTY_FOLDER,
      ['nfsv3'],
    );
    expect(s.packages).toEqual({ base: ['a', 'b'], bootstrap: [], appliance: ['c', 'd'] });
    expect(s.stagingScript.appliance).toEqual(['erase', 'toybox']);
    expect(s.kernel).toEqual({
      kind: 'file',
      path: '/repos/photon-2.0/kernels/linux-4.19.rpm',
      format: 'rpm',
    });
    expect(s.tether).toBe('/repos/photon-2.0/bin/tether-linux');
    expect(s.boot).toEqual({ bios: false, uefi: true });
    expect(s.release).toBe('2.0-updates');
    expect(s.drivers).toEqual({ common: false, repo: ['nfsv3'], spec: ['vmxnet3'] });
  });

  test('apt: suite from the name; sources from the spec, else the folder, else the host', () => {
    const apt = raw({ name: 'debian-12', packagemanager: 'apt', kernel: 'linux-image-cloud-amd64' });
    const host = normaliseSpec(apt, '/r/debian-12', '/r/debian-12/repo-spec.json', EMPTY_FOLDER, []);
    expect(host.release).toBe('bookworm');
    expect(host.apt.sources).toBeUndefined();
    const folder = { ...EMPTY_FOLDER, sourcesFiles: ['/r/debian-12/debian.sources'] };
    expect(normaliseSpec(apt, '/r/debian-12', '/r/debian-12/repo-spec.json', folder, []).apt.sources).toBe(
      '/r/debian-12/debian.sources',
    );
    const chosen = { ...apt, apt: { sources: 'mirror/sources.list', variant: 'minbase' as const } };
    expect(normaliseSpec(chosen, '/r/debian-12', '/r/debian-12/repo-spec.json', folder, []).apt).toEqual({
      variant: 'minbase',
      components: ['main'],
      sources: '/r/debian-12/mirror/sources.list',
    });
  });

  test('a release that cannot be derived is left empty for the release-derivable rule', () => {
    expect(
      normaliseSpec(raw({ name: 'custom' }), '/r/custom', '/r/custom/repo-spec.json', EMPTY_FOLDER, [])
        .release,
    ).toBe('');
  });
});

test('disk: size in bytes, root as written (absent: the disk stage takes ext4)', () => {
  const norm = (disk: RepoSpec['disk']) =>
    normaliseSpec(raw({ disk }), '/repos/photon-2.0', '/repos/photon-2.0/repo-spec.json', EMPTY_FOLDER, [])
      .disk;
  expect(norm({ size: '2G', root: 'squashfs' })).toEqual({ size: 2 * 1024 ** 3, root: 'squashfs' });
  expect(norm({ size: '64M' })).toEqual({ size: 64 * 1024 ** 2 });
  expect(norm(undefined)).toBeUndefined();
});

test('splitWords and isKernelPath', () => {
  expect(splitWords('  a\tb\n c ')).toEqual(['a', 'b', 'c']);
  expect(splitWords('')).toEqual([]);
  expect(isKernelPath('linux-esx')).toBe(false);
  expect(isKernelPath('kernel-2.6.32-754.el6')).toBe(false);
  expect(isKernelPath('linux.deb')).toBe(true);
  expect(isKernelPath('kernels/linux')).toBe(true);
});

test('deepFreeze freezes nested objects and arrays', () => {
  const o = deepFreeze({ a: { b: [1, { c: 2 }] } });
  expect(Object.isFrozen(o.a)).toBe(true);
  expect(Object.isFrozen(o.a.b)).toBe(true);
  expect(Object.isFrozen(o.a.b[1])).toBe(true);
});
