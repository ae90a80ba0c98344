import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { run } from '../../../src/exec/run.js';
import { moveKernelToBootfs } from '../../../src/kernel/boot-files.js';
import { extractKernelFiles } from '../../../src/kernel/extract-kernel.js';
import { findKernelImage, findKernels, pickKernelVersion } from '../../../src/kernel/find-kernel.js';
import { decompressModules, runDepmod } from '../../../src/kernel/modules.js';

// Real rpmbuild and dpkg-deb make two small kernel packages (an image and an xz-compressed
// module); the kernel helpers then unpack them into a merged-/usr root as iso-base does.
const VERSION = '6.6.6-isobuild';
let tmp: DirectoryResult;
let payload: string;

beforeAll(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  payload = join(tmp.path, 'payload');
  await mkdir(join(payload, 'boot'), { recursive: true });
  await mkdir(join(payload, 'lib/modules', VERSION, 'kernel/net'), { recursive: true });
  await writeFile(join(payload, 'boot', `vmlinuz-${VERSION}`), 'not a real kernel');
  await writeFile(join(payload, 'boot', `config-${VERSION}`), 'CONFIG_NET=y\n');
  await writeFile(join(payload, 'lib/modules', VERSION, 'modules.order'), `kernel/net/dummy.ko\n`);
  await writeFile(join(payload, 'lib/modules', VERSION, 'kernel/net/dummy.ko'), 'not a real module');
  await run('xz', [join(payload, 'lib/modules', VERSION, 'kernel/net/dummy.ko')]);
});
afterAll(() => tmp.cleanup());

async function mergedUsrRoot(name: string): Promise<string> {
  const root = join(tmp.path, name);
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await symlink('usr/lib', join(root, 'lib'));
  return root;
}

async function makeDeb(): Promise<string> {
  const tree = join(tmp.path, 'deb-tree');
  await run('cp', ['-a', payload, tree]);
  await mkdir(join(tree, 'DEBIAN'));
  await writeFile(
    join(tree, 'DEBIAN/control'),
    'Package: linux-image-test\nVersion: 1\nArchitecture: amd64\nMaintainer: isobuild <isobuild@localhost>\nDescription: test kernel\n',
  );
  const deb = join(tmp.path, 'linux-image-test.deb');
  await run('dpkg-deb', ['--root-owner-group', '--build', tree, deb]);
  return deb;
}

async function makeRpm(): Promise<string> {
  const top = join(tmp.path, 'rpmbuild');
  await mkdir(join(top, 'SPECS'), { recursive: true });
  const spec = join(top, 'SPECS/kernel.spec');
  await writeFile(
    spec,
    [
      'Name: kernel-test',
      'Version: 1',
      'Release: 1',
      'Summary: test kernel',
      'License: MIT',
      'BuildArch: x86_64',
      '%description',
      'test kernel',
      '%install',
      `cp -a ${payload}/. %{buildroot}/`,
      '%files',
      '/boot/*',
      '/lib/modules/*',
      '',
    ].join('\n'),
  );
  await run('rpmbuild', [
    '--define',
    `_topdir ${top}`,
    '--define',
    '__os_install_post %{nil}',
    '--define',
    'debug_package %{nil}',
    '-bb',
    spec,
  ]);
  const dir = join(top, 'RPMS/x86_64');
  return join(dir, (await readdir(dir))[0] as string);
}

test.each([
  ['deb', makeDeb],
  ['rpm', makeRpm],
] as const)(
  "a kernel .%s is unpacked through the root's lib link, decompressed, indexed and moved",
  async (format, make) => {
    const file = await make();
    const root = await mergedUsrRoot(`root-${format}`);
    await extractKernelFiles([{ path: file, format }], root, { tmpDir: tmp.path, run });

    // The archive's lib/ went through lib -> usr/lib instead of replacing the link.
    expect(await readlink(join(root, 'lib'))).toBe('usr/lib');
    const found = await findKernels(root);
    expect(pickKernelVersion(found)).toBe(VERSION);
    expect(await decompressModules(root, VERSION, run)).toBe(1);
    await runDepmod(root, VERSION, run, undefined, 1700000000);
    const modulesDir = join(root, 'usr/lib/modules', VERSION);
    expect(await readFile(join(modulesDir, 'modules.dep'), 'utf8')).toContain('kernel/net/dummy.ko:');
    expect(existsSync(join(modulesDir, 'kernel/net/dummy.ko.xz'))).toBe(false);

    const bootfs = join(tmp.path, `bootfs-${format}`);
    await moveKernelToBootfs(root, bootfs, VERSION, await findKernelImage(root, VERSION, found));
    expect(await readFile(join(bootfs, 'vmlinuz'), 'utf8')).toBe('not a real kernel');
    expect(await readdir(join(root, 'boot'))).toEqual([]);
  },
);
