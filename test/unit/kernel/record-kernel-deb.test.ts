import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { run } from '../../../src/exec/run.js';
import { extractKernelFiles } from '../../../src/kernel/extract-kernel.js';
import {
  makeFileList,
  makeStatusStanza,
  presentPackages,
  replaceStatusStanza,
} from '../../../src/kernel/record-kernel-deb.js';

// Real dpkg-deb makes a kernel package and its metapackage; the kernel helpers unpack them into
// a root with a dpkg database as iso-base does; the host's real dpkg and apt-get then read that
// database through --root / Dir::State::status.
let tmp: DirectoryResult;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
});
afterEach(() => tmp.cleanup());

const KERNEL_CONTROL = [
  'Package: linux-image-6.6.6-test',
  'Version: 6.6.6-1',
  'Architecture: amd64',
  'Maintainer: isobuild <isobuild@localhost>',
  'Installed-Size: 12',
  'Depends: kmod, linux-base (>= 4.3~), initramfs-tools (>= 0.120) | linux-initramfs-tool',
  'Pre-Depends: debconf | debconf-2.0',
  'Recommends: firmware-linux-free',
  'Description: test kernel',
  ' spanning two lines.',
  '',
].join('\n');

const META_CONTROL = [
  'Package: linux-image-test',
  'Version: 6.6.6-1',
  'Architecture: amd64',
  'Maintainer: isobuild <isobuild@localhost>',
  'Depends: linux-image-6.6.6-test (= 6.6.6-1)',
  'Description: test kernel metapackage',
  '',
].join('\n');

/** A status with kmod installed, debconf providing debconf-2.0, and an old entry to replace. */
const STATUS = [
  'Package: kmod',
  'Status: install ok installed',
  'Version: 30+20221128-1',
  'Architecture: amd64',
  'Maintainer: x <x@x>',
  'Description: kmod',
  '',
  'Package: cdebconf',
  'Status: install ok installed',
  'Version: 1',
  'Architecture: amd64',
  'Provides: debconf-2.0',
  'Maintainer: x <x@x>',
  'Description: cdebconf',
  '',
  'Package: linux-base',
  'Status: deinstall ok config-files',
  'Version: 4.9',
  'Architecture: all',
  'Maintainer: x <x@x>',
  'Description: linux-base, removed',
  '',
].join('\n');

test('the status entry: Status after Package, only the Depends clauses the root meets, the rest as shipped', () => {
  const present = presentPackages(STATUS);
  // linux-base is only config-files: not present.
  expect([...present].sort()).toEqual(['cdebconf', 'debconf-2.0', 'kmod']);
  expect(makeStatusStanza(KERNEL_CONTROL, present)).toBe(
    [
      'Package: linux-image-6.6.6-test',
      'Status: install ok installed',
      'Version: 6.6.6-1',
      'Architecture: amd64',
      'Maintainer: isobuild <isobuild@localhost>',
      'Installed-Size: 12',
      'Depends: kmod',
      'Pre-Depends: debconf | debconf-2.0',
      'Recommends: firmware-linux-free',
      'Description: test kernel',
      ' spanning two lines.',
      '',
    ].join('\n'),
  );
  // Nothing met: the field goes; conffiles come with their md5sums before Description.
  expect(makeStatusStanza(META_CONTROL, new Set(), [{ path: '/etc/k.conf', md5: 'ab' }])).toBe(
    [
      'Package: linux-image-test',
      'Status: install ok installed',
      'Version: 6.6.6-1',
      'Architecture: amd64',
      'Maintainer: isobuild <isobuild@localhost>',
      'Conffiles:',
      ' /etc/k.conf ab',
      'Description: test kernel metapackage',
      '',
    ].join('\n'),
  );
});

test('an entry for the same package and architecture is replaced, the others are kept as they were', () => {
  const entry = 'Package: kmod\nStatus: install ok installed\nVersion: 31\nArchitecture: amd64\n';
  const out = replaceStatusStanza(STATUS, entry);
  expect(out.match(/^Package: /gm)).toHaveLength(3);
  expect(out).not.toContain('30+20221128-1');
  expect(out.endsWith('Version: 31\nArchitecture: amd64\n')).toBe(true);
  expect(out).toContain('Provides: debconf-2.0\nMaintainer: x <x@x>\nDescription: cdebconf\n\nPackage: ');
  expect(makeFileList(['/boot', '/boot/vmlinuz'])).toBe('/.\n/boot\n/boot/vmlinuz\n');
});

async function makeDeb(name: string, control: string, files: Record<string, string>): Promise<string> {
  const tree = join(tmp.path, `${name}-tree`);
  await mkdir(join(tree, 'DEBIAN'), { recursive: true });
  const sums: string[] = [];
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(tree, path, '..'), { recursive: true });
    await writeFile(join(tree, path), content);
    sums.push(`${(await run('md5sum', [join(tree, path)])).stdout.split(' ')[0]}  ${path}`);
  }
  await writeFile(join(tree, 'DEBIAN/control'), control);
  // The metapackage ships none: recording makes it, as dpkg does.
  if (name !== 'meta') await writeFile(join(tree, 'DEBIAN/md5sums'), sums.join('\n') + '\n');
  const deb = join(tmp.path, `${name}.deb`);
  await run('dpkg-deb', ['--root-owner-group', '--build', tree, deb]);
  return deb;
}

async function dpkgRoot(): Promise<string> {
  const root = join(tmp.path, 'root');
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await symlink('usr/lib', join(root, 'lib'));
  for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates'])
    await mkdir(join(root, d), { recursive: true });
  await writeFile(join(root, 'var/lib/dpkg/status'), STATUS);
  for (const name of ['kmod', 'cdebconf'])
    for (const ext of ['list', 'md5sums'])
      await writeFile(join(root, `var/lib/dpkg/info/${name}.${ext}`), '');
  return root;
}

test('unpacked kernel .debs are recorded as installed: dpkg lists and verifies their files, apt finds nothing broken', async () => {
  const kernel = await makeDeb('kernel', KERNEL_CONTROL, {
    'boot/vmlinuz-6.6.6-test': 'not a real kernel',
    'lib/modules/6.6.6-test/kernel/x.ko': 'not a real module',
  });
  const meta = await makeDeb('meta', META_CONTROL, { 'usr/share/doc/linux-image-test/copyright': 'c' });
  const root = await dpkgRoot();
  await extractKernelFiles(
    [
      { path: meta, format: 'deb' },
      { path: kernel, format: 'deb' },
    ],
    root,
    { tmpDir: tmp.path, run, epoch: 1700000000 },
  );

  const status = await readFile(join(root, 'var/lib/dpkg/status'), 'utf8');
  expect(status).toContain('Package: linux-image-test\nStatus: install ok installed\n');
  // The metapackage's Depends names the kernel recorded beside it: kept.
  expect(status).toContain('Depends: linux-image-6.6.6-test (= 6.6.6-1)\n');
  expect(status).toContain('Depends: kmod\nPre-Depends: debconf | debconf-2.0\n');

  const dpkg = (...args: string[]) => run('dpkg', [`--root=${root}`, ...args]);
  const query = await run('dpkg-query', [
    `--admindir=${root}/var/lib/dpkg`,
    '-W',
    '-f',
    '${db:Status-Abbrev} ${Package} ${Version}\n',
  ]);
  expect(query.stdout).toContain('ii  linux-image-6.6.6-test 6.6.6-1');
  expect(query.stdout).toContain('ii  linux-image-test 6.6.6-1');
  expect((await dpkg('-L', 'linux-image-6.6.6-test')).stdout.split('\n')).toEqual(
    expect.arrayContaining(['/boot/vmlinuz-6.6.6-test', '/lib/modules/6.6.6-test/kernel/x.ko']),
  );
  // Every file the list and md5sums name is in the root with those bytes.
  expect((await dpkg('--verify', 'linux-image-6.6.6-test')).stdout).toBe('');
  expect((await dpkg('--audit')).stdout).toBe('');
  expect((await dpkg('--verify', 'linux-image-test')).stdout).toBe('');
  expect(await readFile(join(root, 'var/lib/dpkg/info/linux-image-test.md5sums'), 'utf8')).toMatch(
    /^[0-9a-f]{32} {2}usr\/share\/doc\/linux-image-test\/copyright\n$/,
  );

  // apt reads the same database and the pins, with a local repo offering both packages as
  // shipped (the kernel with its whole Depends, none of which the repo has): nothing broken,
  // both already installed, nothing to upgrade.
  const repo = join(tmp.path, 'repo');
  await mkdir(repo);
  for (const deb of [kernel, meta]) await run('cp', [deb, repo]);
  const packages = await run('dpkg-scanpackages', ['--multiversion', '.'], { cwd: repo });
  await writeFile(join(repo, 'Packages'), packages.stdout);
  const aptDir = join(tmp.path, 'apt');
  await mkdir(join(aptDir, 'lists/partial'), { recursive: true });
  await mkdir(join(aptDir, 'cache/archives/partial'), { recursive: true });
  await writeFile(join(aptDir, 'sources.list'), `deb [trusted=yes] file:${repo} ./\n`);
  const apt = (...args: string[]) =>
    run('apt-get', [
      '-o',
      `Dir::State::status=${root}/var/lib/dpkg/status`,
      '-o',
      `Dir::State::Lists=${aptDir}/lists`,
      '-o',
      `Dir::Cache=${aptDir}/cache`,
      '-o',
      `Dir::Etc::SourceList=${aptDir}/sources.list`,
      '-o',
      `Dir::Etc::SourceParts=${aptDir}/none.d`,
      '-o',
      `Dir::Etc::PreferencesParts=${root}/etc/apt/preferences.d`,
      '-o',
      'Debug::NoLocking=1',
      ...args,
    ]);
  await apt('update');
  await apt('check');
  const install = await apt('install', '-s', 'linux-image-test', 'linux-image-6.6.6-test');
  expect(install.stdout).toContain('linux-image-test is already the newest version (6.6.6-1)');
  expect(install.stdout).toContain('linux-image-6.6.6-test is already the newest version (6.6.6-1)');
  expect(install.stdout).toContain('0 upgraded, 0 newly installed');
  expect((await apt('dist-upgrade', '-s')).stdout).toContain('0 upgraded, 0 newly installed');
});

test('a root without a dpkg database (an RPM root) gets the files and no database', async () => {
  const kernel = await makeDeb('kernel', KERNEL_CONTROL, { 'boot/vmlinuz-6.6.6-test': 'x' });
  const root = join(tmp.path, 'rpm-root');
  await mkdir(root);
  await extractKernelFiles([{ path: kernel, format: 'deb' }], root, { tmpDir: tmp.path, run });
  expect(existsSync(join(root, 'boot/vmlinuz-6.6.6-test'))).toBe(true);
  expect(existsSync(join(root, 'var/lib/dpkg'))).toBe(false);
  expect(existsSync(join(root, 'etc/apt'))).toBe(false);
});
