import type { Manifest } from '../../../src/inventory/manifest.js';
import type { FileRecord } from '../../../src/inventory/types.js';
import { makeReportData } from '../../../src/report/report-data.js';
import type { SizeNode } from '../../../src/report/types.js';

const file = (path: string, size: number, extra: Partial<FileRecord> = {}): FileRecord => ({
  path,
  type: 'file',
  mode: '0644',
  size,
  sha256: `${path}-${size}`,
  ...extra,
});

function manifest(over: Partial<Manifest> = {}): Manifest {
  return {
    manifestVersion: 1,
    generator: 'isobuild 0.1.0',
    repo: 'debian-12',
    target: 'bootstrap',
    format: 'iso',
    packagemanager: 'apt',
    distro: { id: 'debian', versionId: '12' },
    sourceDateEpoch: 0,
    output: { name: 'bootstrap.iso', size: 100, sha256: 'abc' },
    kernel: { version: '6.1.0-9-amd64', sha256: 'k', size: 5000 },
    packagesFrom: 'staging',
    packages: [
      { name: 'bash', version: '5.2', arch: 'amd64' },
      { name: 'busybox', version: '1.35', arch: 'amd64' },
      { name: 'tzdata', version: '2024a', arch: 'all' },
    ],
    isobuildFiles: [file('/init', 10)],
    initrdFiles: [
      { path: '/usr', type: 'dir', mode: '0755' },
      file('/usr/bin/bash', 1000),
      file('/usr/lib/x86_64-linux-gnu/libtinfo.so.6', 200),
      file('/usr/bin/busybox', 700),
      { path: '/usr/bin/sh', type: 'link', mode: '0777', target: 'bash' },
      file('/init', 10),
      file('/lib/modules/6.1.0-9-amd64/kernel/virtio.ko', 300),
      file('/etc/hostname', 5),
    ],
    stages: [],
    ...over,
  };
}

const dpkg = new Map([
  ['/bin/bash', 'bash'],
  ['/usr/bin/bash', 'bash'],
  ['/usr/bin/busybox', 'busybox'],
]);

const top = (tree: SizeNode) => Object.fromEntries((tree.children ?? []).map((c) => [c.name, c]));

describe('makeReportData', () => {
  test('the treemap has one node per package (even one with no file in the root), and one per other owner', () => {
    const d = makeReportData({ manifest: manifest(), dpkgOwners: dpkg, stages: [] });
    const nodes = top(d.tree);
    expect(Object.keys(nodes).sort()).toEqual(
      ['bash', 'busybox', 'tzdata', 'isobuild init layer', 'linux 6.1.0-9-amd64', 'no package'].sort(),
    );
    expect((d.tree.children ?? []).filter((c) => c.package).map((c) => c.package)).toHaveLength(3);
    expect(nodes['bash']).toMatchObject({ size: 1000, owner: { kind: 'package', name: 'bash' } });
    expect(nodes['tzdata']).toMatchObject({ size: 0, owner: { kind: 'package' }, package: 'tzdata' });
    // The kernel: its modules in the root and the vmlinuz the output boots.
    expect(nodes['linux 6.1.0-9-amd64']).toMatchObject({ size: 5300, owner: { kind: 'kernel' } });
    expect(nodes['isobuild init layer']).toMatchObject({ size: 10, owner: { kind: 'init-layer' } });
    // A library no list names: no package (a hook, a maintainer script...).
    expect(nodes['no package']!.size).toBe(205);
    expect(d.packages.map((p) => [p.name, p.size, p.files])).toEqual([
      ['bash', 1000, 1],
      ['busybox', 700, 1],
      ['tzdata', 0, 0],
    ]);
    expect(d.rootSize).toBe(2215);
  });

  test('an owner the manifest records on a file wins, whatever its kind', () => {
    const m = manifest();
    const withHook = {
      ...m,
      initrdFiles: m.initrdFiles.map((f) =>
        f.path === '/etc/hostname' ? { ...f, owner: { kind: 'hook', name: 'staging.sh' } } : f,
      ),
    } as Manifest;
    const nodes = top(makeReportData({ manifest: withHook, dpkgOwners: dpkg, stages: [] }).tree);
    expect(nodes['staging.sh']).toMatchObject({ size: 5, owner: { kind: 'hook', name: 'staging.sh' } });
  });

  test('the kernel package (the one whose list holds the modules folder) is a package of kind kernel', () => {
    const owners = new Map([...dpkg, ['/lib/modules/6.1.0-9-amd64', 'linux-image-6.1.0-9-amd64']]);
    for (const p of ['/lib/modules/6.1.0-9-amd64/kernel/virtio.ko'])
      owners.set(p, 'linux-image-6.1.0-9-amd64');
    const m = manifest();
    const withKernel = {
      ...m,
      packages: [...m.packages, { name: 'linux-image-6.1.0-9-amd64', version: '6.1', arch: 'amd64' }],
    };
    const d = makeReportData({ manifest: withKernel, dpkgOwners: owners, stages: [] });
    expect(top(d.tree)['linux-image-6.1.0-9-amd64']).toMatchObject({
      size: 300,
      owner: { kind: 'kernel' },
      package: 'linux-image-6.1.0-9-amd64',
    });
    expect(d.packages.find((p) => p.name.startsWith('linux-image'))?.size).toBe(300);
  });

  test('against another output: added and changed packages and files are marked, the stages line is diff`s', () => {
    const before = manifest({
      packages: manifest()
        .packages.filter((p) => p.name !== 'tzdata')
        .map((p) => (p.name === 'busybox' ? { ...p, version: '1.34' } : p)),
      initrdFiles: manifest().initrdFiles.filter((f) => f.path !== '/etc/hostname'),
    });
    const d = makeReportData({ manifest: manifest(), against: before, dpkgOwners: dpkg, stages: [] });
    expect(d.diff).toMatchObject({
      packages: { added: ['tzdata 2024a'], removed: [], changed: ['busybox 1.34 → 1.35'] },
      files: { added: 1, removed: 0, changed: 0, sizeDelta: 5 },
      stages:
        'stages: the same inputs for every stage both builds ran, yet the packages differ: the package sources changed between the builds (a mirror update: the same inputs resolved to other versions)',
    });
    const nodes = top(d.tree);
    expect(nodes['tzdata']!.diff).toBe('added');
    expect(nodes['busybox']!.diff).toBe('changed');
    expect(nodes['bash']!.diff).toBeUndefined();
    expect(d.packages.find((p) => p.name === 'tzdata')?.diff).toBe('added');
  });

  test('budgets pass through for the page to mark; none, none shown', () => {
    const budgets = [{ what: 'initrd', unit: 'bytes' as const, limit: 1, actual: 2 }];
    expect(makeReportData({ manifest: manifest(), stages: [], budgets }).budgets).toEqual(budgets);
    expect(makeReportData({ manifest: manifest(), stages: [] }).budgets).toBeUndefined();
  });
});
