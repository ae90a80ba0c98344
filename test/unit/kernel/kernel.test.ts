import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { BuildError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { moveKernelToBootfs } from '../../../src/kernel/boot-files.js';
import {
  findKernelImage,
  findKernels,
  pickKernelVersion,
  versionOfImage,
} from '../../../src/kernel/find-kernel.js';
import { decompressModules, runDepmod } from '../../../src/kernel/modules.js';

let tmp: DirectoryResult;
let root: string;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  root = join(tmp.path, 'rootfs');
  await mkdir(root);
});
afterEach(() => tmp.cleanup());

/** A merged-/usr root (lib -> usr/lib) with a kernel's module folder and /boot files. */
async function kernelRoot(version: string, opts: { imageIn?: 'boot' | 'modules' } = {}) {
  await mkdir(join(root, 'usr/lib/modules', version, 'kernel/net'), { recursive: true });
  if (!existsSync(join(root, 'lib'))) await symlink('usr/lib', join(root, 'lib'));
  await writeFile(join(root, 'usr/lib/modules', version, 'modules.order'), '');
  await mkdir(join(root, 'boot'), { recursive: true });
  const image =
    opts.imageIn === 'modules'
      ? join(root, 'usr/lib/modules', version, 'vmlinuz')
      : join(root, 'boot', `vmlinuz-${version}`);
  await writeFile(image, 'kernel image');
  await writeFile(join(root, 'boot', `config-${version}`), 'CONFIG_X=y');
}

test.each([
  ['vmlinuz-6.1.0-37-cloud-amd64', '6.1.0-37-cloud-amd64'],
  ['vmlinuz-4.19.295-1.ph3-esx', '4.19.295-1.ph3-esx'],
  ['bzImage-5.10', '5.10'],
  ['vmlinuz', undefined],
])('versionOfImage(%s) = %s', (name, version) => {
  expect(versionOfImage(name)).toBe(version);
});

describe('pickKernelVersion', () => {
  test('one module folder decides', () => {
    expect(pickKernelVersion({ moduleDirs: ['6.1.0-1-amd64'], bootImages: ['vmlinuz-6.1.0-1-amd64'] })).toBe(
      '6.1.0-1-amd64',
    );
  });
  test('an image-only root counts', () => {
    expect(pickKernelVersion({ moduleDirs: [], bootImages: ['vmlinuz-5.4'] })).toBe('5.4');
  });
  test('no kernel is an error that says what was found', () => {
    expect(() => pickKernelVersion({ moduleDirs: [], bootImages: [] }, 'iso-base')).toThrow(
      'stage iso-base: no kernel in the root (/lib/modules has nothing; /boot has nothing)',
    );
  });
  test('two kernels is an error that lists both', () => {
    const found = { moduleDirs: ['6.1.0-1-amd64', '6.1.0-2-amd64'], bootImages: ['vmlinuz-6.1.0-2-amd64'] };
    expect(() => pickKernelVersion(found)).toThrow(BuildError);
    expect(() => pickKernelVersion(found)).toThrow(
      /several kernel versions in the root \(\/lib\/modules has 6.1.0-1-amd64, 6.1.0-2-amd64; \/boot has vmlinuz-6.1.0-2-amd64\)/,
    );
  });
});

test('findKernels follows lib -> usr/lib inside the root and ignores empty module folders', async () => {
  await kernelRoot('6.1.0-9-amd64');
  await mkdir(join(root, 'usr/lib/modules/5.10.0-old'), { recursive: true });
  expect(await findKernels(root)).toEqual({
    moduleDirs: ['6.1.0-9-amd64'],
    bootImages: ['vmlinuz-6.1.0-9-amd64'],
  });
});

test('findKernelImage: /boot/vmlinuz-VERSION, else /lib/modules/VERSION/vmlinuz, else the only vmlinuz-*', async () => {
  await kernelRoot('6.1.0-9-amd64');
  expect(await findKernelImage(root, '6.1.0-9-amd64', await findKernels(root))).toBe(
    '/boot/vmlinuz-6.1.0-9-amd64',
  );

  const other = join(tmp.path, 'other');
  root = other;
  await mkdir(root);
  await kernelRoot('6.5.0-1.fc39.x86_64', { imageIn: 'modules' });
  expect(await findKernelImage(root, '6.5.0-1.fc39.x86_64', await findKernels(root))).toBe(
    '/lib/modules/6.5.0-1.fc39.x86_64/vmlinuz',
  );

  const photon = { moduleDirs: ['4.9.140-1.ph2-esx'], bootImages: ['vmlinuz-4.9.140-esx'] };
  await writeFile(join(root, 'boot/vmlinuz-4.9.140-esx'), 'x');
  expect(await findKernelImage(root, '4.9.140-1.ph2-esx', photon)).toBe('/boot/vmlinuz-4.9.140-esx');
  await expect(
    findKernelImage(root, '1.0', { moduleDirs: ['1.0'], bootImages: [] }, 'iso-base'),
  ).rejects.toThrow('stage iso-base: no kernel image for 1.0');
});

test("moveKernelToBootfs moves the image and the version's /boot files, and drops dangling links", async () => {
  const version = '6.1.0-9-amd64';
  await kernelRoot(version);
  await symlink(`boot/vmlinuz-${version}`, join(root, 'vmlinuz'));
  await symlink('boot/initrd.img-x', join(root, 'initrd.img'));
  await writeFile(join(root, 'boot/unrelated'), '');
  const bootfs = join(tmp.path, 'bootfs');
  const moved = await moveKernelToBootfs(root, bootfs, version, `/boot/vmlinuz-${version}`);
  expect(moved).toEqual([`/boot/vmlinuz-${version} -> vmlinuz`, `/boot/config-${version}`]);
  expect(await readFile(join(bootfs, 'vmlinuz'), 'utf8')).toBe('kernel image');
  expect(existsSync(join(bootfs, `config-${version}`))).toBe(true);
  expect(existsSync(join(root, 'boot/unrelated'))).toBe(true);
  for (const link of ['vmlinuz', 'initrd.img']) {
    await expect(readlink(join(root, link))).rejects.toThrow();
  }
});

test('compressed modules are decompressed in place and depmod indexes the plain .ko files', async () => {
  const version = '6.1.0-9-amd64';
  await kernelRoot(version);
  const net = join(root, 'usr/lib/modules', version, 'kernel/net');
  for (const [name, tool] of [
    ['a.ko', 'xz'],
    ['b.ko', 'gzip'],
    ['c.ko', 'zstd'],
  ] as const) {
    await writeFile(join(net, name), `not really ${name}`);
    await run(tool, tool === 'zstd' ? ['-q', '--rm', join(net, name)] : [join(net, name)]);
  }
  const ran: string[] = [];
  const count = await decompressModules(root, version, (file, args, opts) => {
    ran.push(file);
    return run(file, args, opts);
  });
  expect(count).toBe(3);
  expect(ran.sort()).toEqual(['gzip', 'xz', 'zstd']);
  for (const name of ['a.ko', 'b.ko', 'c.ko'])
    expect(await readFile(join(net, name), 'utf8')).toBe(`not really ${name}`);

  await runDepmod(root, version, run, 'iso-base', 1700000000);
  expect(existsSync(join(root, 'usr/lib/modules', version, 'modules.dep'))).toBe(true);
  // The index carries SOURCE_DATE_EPOCH, not the build's time: the same modules give the same root.
  for (const name of readdirSync(join(root, 'usr/lib/modules', version)).filter((n) =>
    n.startsWith('modules.'),
  ))
    expect(statSync(join(root, 'usr/lib/modules', version, name)).mtimeMs).toBe(1700000000 * 1000);
});
