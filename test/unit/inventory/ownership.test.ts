import { assignOwners, canonicalPath, type OwnershipInputs } from '../../../src/inventory/ownership.js';
import type { FileRecord } from '../../../src/inventory/types.js';

const file = (path: string): FileRecord => ({ path, type: 'file', mode: '0644', size: 1, sha256: 'x' });
const link = (path: string, target: string): FileRecord => ({ path, type: 'link', mode: '0777', target });

const base: OwnershipInputs = {
  files: [
    link('/bin', 'usr/bin'),
    link('/lib', 'usr/lib'),
    { path: '/usr', type: 'dir', mode: '0755' },
    file('/usr/bin/busybox'),
    file('/etc/motd'),
    file('/etc/hostname'),
    file('/init'),
    file('/usr/bin/init'),
    file('/usr/lib/modules/6.1/kernel/virtio_net.ko'),
    file('/var/lib/dpkg/status'),
    file('/etc/mystery'),
  ],
  packageFiles: new Map([
    ['/bin/busybox', ['busybox']],
    ['/etc/hostname', ['base-files']],
    ['/usr/share/doc/busybox/copyright', ['busybox']],
    ['/lib/modules/6.1/kernel/virtio_net.ko.xz', ['linux-image-6.1']],
  ]),
  packages: [{ name: 'busybox', version: '1:1.35.0-4', arch: 'amd64' }],
  hooks: {
    'base.sh': { added: ['/etc/motd'], changed: [], removed: [] },
    'staging.sh': {
      added: ['/etc/gone'],
      changed: ['/etc/hostname'],
      removed: ['/usr/share/doc/busybox/copyright'],
    },
  },
  isobuildPaths: ['/init', '/usr/lib/isobuild/', '/bin/init'],
  kernel: { version: '6.1', built: false },
  minimised: true,
  packagemanager: 'apt',
};

describe('canonicalPath', () => {
  test.each([
    ['/bin/busybox', '/usr/bin/busybox'],
    ['/bin', '/bin'],
    ['/lib/x/../y', '/usr/lib/y'],
    ['/etc/motd', '/etc/motd'],
  ])('%s → %s with /bin → usr/bin, /lib → /usr/lib', (path, expected) => {
    expect(
      canonicalPath(
        path,
        new Map([
          ['/bin', 'usr/bin'],
          ['/lib', '/usr/lib'],
        ]),
      ),
    ).toBe(expected);
  });

  test('a link loop ends the walk instead of hanging', () => {
    expect(canonicalPath('/a/x', new Map([['/a', '/a']]))).toBe('/a/x');
  });
});

describe('assignOwners', () => {
  const owned = assignOwners(base);
  const owner = (path: string) => owned.files.find((f) => f.path === path)?.owner;

  test.each([
    [
      '/usr/bin/busybox',
      'package',
      'busybox',
      /package busybox 1:1\.35\.0-4 \(amd64\), which lists it as \/bin\/busybox/,
    ],
    ['/etc/motd', 'hook', 'base.sh', /written by the repo hook base\.sh/],
    [
      '/etc/hostname',
      'hook',
      'staging.sh',
      /changed by the repo hook staging\.sh \(installed by package base-files\)/,
    ],
    ['/init', 'isobuild', 'tether', /init and tether layer/],
    ['/usr/bin/init', 'isobuild', 'tether', /init and tether layer/],
    [
      '/usr/lib/modules/6.1/kernel/virtio_net.ko',
      'kernel',
      'linux 6.1',
      /module of package linux-image-6\.1/,
    ],
    ['/var/lib/dpkg/status', 'package-manager', 'apt', /state and database/],
    ['/etc/mystery', 'unowned', undefined, /no package lists it/],
  ])('%s: %s %s', (path, kind, name, how) => {
    expect(owner(path)).toMatchObject({ kind, ...(name ? { name } : {}) });
    expect(owner(path)?.how).toMatch(how);
  });

  test('lists the unowned files, directories aside', () => {
    expect(owned.unowned).toEqual(['/etc/mystery']);
  });

  test('names what removed a package file or a hook file the root lacks', () => {
    expect(owned.removed).toEqual([
      {
        path: '/etc/gone',
        owner: { kind: 'hook', name: 'staging.sh' },
        by: 'minimise',
      },
      {
        path: '/usr/share/doc/busybox/copyright',
        owner: { kind: 'package', name: 'busybox' },
        by: 'staging.sh',
      },
    ]);
  });
});
