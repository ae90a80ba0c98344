import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStaticElf } from '../../../src/fs/elf.js';
import { findCommandInRoot, findInRoot } from '../../../src/rootfs/root-path.js';

describe('paths inside a root', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'isobuild-rootpath-'));
    // Debian's merged /usr with kmod's absolute links: /sbin/modprobe -> /bin/kmod.
    await mkdir(join(root, 'usr', 'bin'), { recursive: true });
    await mkdir(join(root, 'usr', 'sbin'), { recursive: true });
    await symlink('usr/bin', join(root, 'bin'));
    await symlink('usr/sbin', join(root, 'sbin'));
    await writeFile(join(root, 'usr', 'bin', 'kmod'), '#!/bin/sh\n');
    await chmod(join(root, 'usr', 'bin', 'kmod'), 0o755);
    await symlink('/bin/kmod', join(root, 'usr', 'sbin', 'modprobe'));
    await writeFile(join(root, 'usr', 'bin', 'notexec'), '');
    // A link that would escape to the host's /etc if followed naively.
    await symlink('/etc/passwd', join(root, 'usr', 'bin', 'escape'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('follows absolute links relative to the root', async () => {
    expect(await findInRoot(root, '/sbin/modprobe')).toBe('/usr/bin/kmod');
    expect(await findInRoot(root, '/usr/bin/escape')).toBeUndefined();
    // `..` applies after the link, as in the kernel: /bin/.. is /usr here, never the root.
    expect(await findInRoot(root, '/bin/../bin/kmod')).toBe('/usr/bin/kmod');
    expect(await findInRoot(root, '/bin/../usr/bin/kmod')).toBeUndefined();
    expect(await findInRoot(root, '/../../usr/bin/kmod')).toBe('/usr/bin/kmod');
  });

  it('finds executables on the root PATH only', async () => {
    expect(await findCommandInRoot(root, 'modprobe')).toBe('/usr/bin/kmod');
    expect(await findCommandInRoot(root, 'notexec')).toBeUndefined();
    expect(await findCommandInRoot(root, 'bash')).toBeUndefined();
  });

  it('tells a static ELF from a dynamic one', async () => {
    expect(await isStaticElf('/bin/busybox')).toBe(true); // busybox-static
    expect(await isStaticElf('/bin/bash')).toBe(false);
    expect(await isStaticElf(join(root, 'usr', 'bin', 'kmod'))).toBe(false);
  });
});
