import {
  chmod,
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeepSet } from '../../../src/minimise/closure.js';
import { copyKept } from '../../../src/minimise/copier.js';
import { readElf } from '../../../src/fs/elf.js';
import { globToRegExp, matchRootGlobs } from '../../../src/rootfs/glob.js';
import { readLibraryDirs } from '../../../src/rootfs/ld-paths.js';
import { walkInRoot } from '../../../src/rootfs/root-path.js';

/**
 * A tiny merged-/usr root made by hand: the host's /usr/bin/true with its libc and loader
 * (real ELF files), absolute and relative links, a script, and a link pointing out of the root.
 */
describe('keep set on a hand-made root', () => {
  let dir: string;
  let root: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-closure-'));
    root = join(dir, 'root');
    const lib = join(root, 'usr/lib/x86_64-linux-gnu');
    await mkdir(lib, { recursive: true });
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await mkdir(join(root, 'usr/lib64'), { recursive: true });
    await mkdir(join(root, 'etc/ld.so.conf.d'), { recursive: true });
    await symlink('usr/lib', join(root, 'lib'));
    await symlink('/usr/bin', join(root, 'bin')); // absolute: must resolve inside the root
    await symlink('usr/lib64', join(root, 'lib64'));
    await copyFile('/usr/lib/x86_64-linux-gnu/libc.so.6', join(lib, 'libc.so.6'));
    await copyFile('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', join(lib, 'ld-linux-x86-64.so.2'));
    await symlink(
      '../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
      join(root, 'usr/lib64/ld-linux-x86-64.so.2'),
    );
    await copyFile('/usr/bin/true', join(root, 'usr/bin/true'));
    await chmod(join(root, 'usr/bin/true'), 0o755);
    await writeFile(join(root, 'usr/bin/dash'), 'not really a shell');
    await symlink('dash', join(root, 'usr/bin/sh'));
    await writeFile(join(root, 'usr/bin/script'), '#!/bin/sh -e\ntrue\n');
    await chmod(join(root, 'usr/bin/script'), 0o750);
    await utimes(join(root, 'usr/bin/script'), 1_000_000, 1_000_000);
    await writeFile(join(root, 'etc/ld.so.conf'), 'include /etc/ld.so.conf.d/*.conf\n');
    await writeFile(
      join(root, 'etc/ld.so.conf.d/x86_64-linux-gnu.conf'),
      '# multiarch\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n',
    );
    await symlink('/etc/passwd', join(root, 'etc/host-passwd')); // "absolute" means the root's /etc/passwd
    await symlink('../../../../../../etc', join(root, 'usr/bin/escape'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves links against the root, never the host', async () => {
    const r = await walkInRoot(root, '/bin/true');
    expect(r).toMatchObject({ path: '/usr/bin/true', links: ['/bin'] });
    const esc = await walkInRoot(root, '/usr/bin/escape/passwd');
    expect(esc.path).toBe('/etc/passwd'); // '..' stops at the root: the root's /etc, which lacks passwd
    expect(esc.stat).toBeUndefined();
    expect((await walkInRoot(root, '/etc/host-passwd')).stat).toBeUndefined();
    expect(await walkInRoot(root, '/bin', false)).toMatchObject({ path: '/bin', links: [] });
  });

  it('reads the loader search path from ld.so.conf and its includes', async () => {
    expect(await readLibraryDirs(root)).toEqual([
      '/usr/local/lib/x86_64-linux-gnu',
      '/lib/x86_64-linux-gnu',
      '/lib64',
      '/usr/lib64',
      '/lib',
      '/usr/lib',
    ]);
  });

  it('reads PT_INTERP and DT_NEEDED', async () => {
    const info = await readElf(join(root, 'usr/bin/true'));
    expect(info).toMatchObject({
      bits: 64,
      interpreter: '/lib64/ld-linux-x86-64.so.2',
      needed: ['libc.so.6'],
    });
    expect(await readElf(join(root, 'usr/bin/script'))).toBeUndefined();
  });

  it('adds the interpreter and DT_NEEDED closure of an executed ELF, with every link', async () => {
    const keep = new KeepSet(root);
    await keep.add('/bin/true', 'traced', { exec: true });
    const why = (p: string) => [...(keep.entries.get(p)?.reasons ?? [])];
    expect(why('/bin')).toEqual(['symlink']);
    expect(why('/usr/bin/true')).toEqual(['traced']);
    expect(why('/lib64')).toEqual(['symlink', 'elf']);
    expect(why('/usr/lib64/ld-linux-x86-64.so.2')).toEqual(['symlink', 'elf']);
    expect(why('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')).toEqual(['elf']);
    expect(why('/usr/lib/x86_64-linux-gnu/libc.so.6')).toEqual(['elf']);
    expect([...(keep.entries.get('/usr/lib/x86_64-linux-gnu/libc.so.6')?.via ?? [])]).toContain(
      '/usr/bin/true',
    );
  });

  it("adds an executed script's #! interpreter, and keeps created files' parents", async () => {
    const keep = new KeepSet(root);
    await keep.add('/usr/bin/script', 'traced', { exec: true });
    await keep.add('/usr/bin/new-file', 'traced', { create: true });
    expect([...(keep.entries.get('/usr/bin/dash')?.reasons ?? [])]).toEqual(['shebang']);
    expect([...(keep.entries.get('/usr/bin/sh')?.reasons ?? [])]).toEqual(['symlink', 'shebang']);
    expect(keep.entries.has('/usr/bin')).toBe(true);
    expect(keep.entries.has('/usr/bin/new-file')).toBe(false);
  });

  it('drops kernel filesystems but keeps their mount points', async () => {
    const keep = new KeepSet(root);
    expect(await keep.add('/proc/self/maps', 'traced')).toBeUndefined();
    expect(await keep.add('/dev/pts/0', 'traced')).toBeUndefined();
  });

  it('copies with modes, owners, links and mtimes', async () => {
    const keep = new KeepSet(root);
    await keep.add('/usr/bin/script', 'traced', { exec: true });
    keep.addParents();
    const out = join(dir, 'out');
    await mkdir(out);
    await copyKept(root, out, keep.paths());
    const st = await lstat(join(out, 'usr/bin/script'));
    expect(st.mode & 0o7777).toBe(0o750);
    expect(st.mtimeMs).toBe(1_000_000_000);
    expect(await readlink(join(out, 'bin'))).toBe('/usr/bin');
    expect(await readlink(join(out, 'usr/bin/sh'))).toBe('dash');
    expect(keep.entries.get('/usr')?.reasons).toEqual(new Set(['parent']));
  });

  it('matches globs inside the root, through links in the fixed prefix', async () => {
    expect(await matchRootGlobs(root, ['/lib/x86_64-linux-gnu/lib*.so*'])).toEqual([
      '/usr/lib/x86_64-linux-gnu/libc.so.6',
    ]);
    expect(await matchRootGlobs(root, ['/usr/bin/{da,scr}*'])).toEqual(['/usr/bin/dash', '/usr/bin/script']);
    const re = globToRegExp('/usr/**/x86_64-linux-gnu/*.so.?');
    expect(re.test('/usr/lib/x86_64-linux-gnu/libc.so.6')).toBe(true);
    expect(re.test('/usr/x86_64-linux-gnu/libc.so.6')).toBe(true);
    expect(re.test('/usr/lib/x86_64-linux-gnu/sub/libc.so.6')).toBe(false);
  });
});
