import { link, lstat, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import {
  clampMtime,
  collectEntries,
  compareNames,
  encodeHeader,
  entriesOf,
  makeCpio,
  splitDev,
  type CpioEntry,
} from '../../../src/image/cpio.js';

const SDE = 1_700_000_000;
const opts = { sourceDateEpoch: SDE, ownership: 'zero' as const };
const isRoot = process.geteuid?.() === 0;

function entry(over: Partial<CpioEntry>): CpioEntry {
  return {
    name: Buffer.from('bin/sh'),
    mode: 0o100755,
    uid: 0,
    gid: 0,
    mtime: 0x5f5e100,
    ino: 7,
    nlink: 1,
    rdevMajor: 0,
    rdevMinor: 0,
    size: 3,
    ...over,
  };
}

describe('encodeHeader', () => {
  it('writes the 13 newc fields as 8 hex digits after the 070701 magic', () => {
    const h = encodeHeader(entry({}));
    const text = h.toString('latin1');
    expect(text.slice(0, 6)).toBe('070701');
    const fields = text.slice(6, 110).match(/.{8}/g)!;
    expect(fields).toEqual([
      '00000007', // ino
      '000081ed', // mode 0100755
      '00000000', // uid
      '00000000', // gid
      '00000001', // nlink
      '05f5e100', // mtime
      '00000003', // filesize
      '00000000', // devmajor
      '00000000', // devminor
      '00000000', // rdevmajor
      '00000000', // rdevminor
      '00000007', // namesize: "bin/sh" + NUL
      '00000000', // check
    ]);
  });

  it('pads header + name + NUL to a multiple of 4', () => {
    for (const name of ['a', 'ab', 'abc', 'abcd', 'bin/sh']) {
      const h = encodeHeader(entry({ name: Buffer.from(name) }));
      expect(h.length % 4).toBe(0);
      expect(h.subarray(110, 110 + name.length).toString()).toBe(name);
      expect(h[110 + name.length]).toBe(0);
      expect(h.length).toBe(Math.ceil((110 + name.length + 1) / 4) * 4);
    }
  });

  it('refuses members newc cannot describe', () => {
    expect(() => encodeHeader(entry({ size: 2 ** 32 }))).toThrow(/4 GiB/);
  });
});

describe('helpers', () => {
  it('orders names byte-wise, whatever the locale', () => {
    const names = ['b', 'a/b', 'B', 'a.b', 'a', '\u00e9', 'a-b'].map((s) => Buffer.from(s));
    expect(names.sort(compareNames).map(String)).toEqual(['B', 'a', 'a-b', 'a.b', 'a/b', 'b', '\u00e9']);
  });

  it('clamps mtimes to SOURCE_DATE_EPOCH and never below zero', () => {
    expect(clampMtime(SDE + 5, SDE)).toBe(SDE);
    expect(clampMtime(12.9, SDE)).toBe(12);
    expect(clampMtime(-3, SDE)).toBe(0);
  });

  it('splits dev_t like glibc', () => {
    expect(splitDev(BigInt(0x0501))).toEqual({ major: 5, minor: 1 }); // /dev/console
    expect(splitDev((BigInt(259) << 8n) | 3n)).toEqual({ major: 259, minor: 3 });
    expect(splitDev(BigInt(0x100000) | BigInt(0x0800))).toEqual({ major: 8, minor: 256 });
  });
});

describe('collectEntries and makeCpio on a real tree', () => {
  let dir: string;
  let root: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-cpio-'));
    root = join(dir, 'root');
    await mkdir(join(root, 'bin'), { recursive: true });
    await mkdir(join(root, 'etc/b'), { recursive: true });
    await mkdir(join(root, 'etc.d'));
    await writeFile(join(root, 'bin/busybox'), 'not really busybox\n', { mode: 0o755 });
    await link(join(root, 'bin/busybox'), join(root, 'bin/sh'));
    await symlink('busybox', join(root, 'bin/ls'));
    await writeFile(join(root, 'etc/hostname'), 'isobuild\n');
    await writeFile(join(root, 'etc/empty'), '');
    await utimes(join(root, 'etc/hostname'), 1000, 1000);
    // A name that is not UTF-8: archived byte for byte.
    await writeFile(Buffer.concat([Buffer.from(join(root, 'etc') + '/latin1-'), Buffer.from([0xe9])]), 'x');
    if (isRoot) await run('mknod', ['-m', '600', join(root, 'etc/console'), 'c', '5', '1']);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the root first, then every path sorted byte-wise', async () => {
    const names = (await collectEntries(root, opts)).map((e) => e.name.toString());
    expect(names[0]).toBe('.');
    expect(names).toEqual(['.', ...names.slice(1).sort()]);
    expect(names).toContain('etc/b');
    const raw = (await collectEntries(root, opts)).find((e) => e.name.includes(0xe9))!;
    expect(raw.name.equals(Buffer.concat([Buffer.from('etc/latin1-'), Buffer.from([0xe9])]))).toBe(true);
    expect(names.indexOf('etc.d')).toBeLessThan(names.indexOf('etc/b'));
  });

  it('numbers inodes in order, shares them across hard links and puts the data on the last link', async () => {
    const entries = await collectEntries(root, opts);
    const byName = new Map(entries.map((e) => [e.name.toString(), e]));
    const bb = byName.get('bin/busybox')!;
    const sh = byName.get('bin/sh')!;
    expect(bb.ino).toBe(sh.ino);
    expect([bb.nlink, sh.nlink]).toEqual([2, 2]);
    expect(bb.size).toBe(0);
    expect(sh.size).toBe('not really busybox\n'.length);
    const inos = [...new Set(entries.map((e) => e.ino))];
    expect(inos).toEqual(inos.map((_, i) => i + 1));
    expect(byName.get('bin/ls')!.linkTarget!.toString()).toBe('busybox');
    expect(byName.get('etc/hostname')!.mtime).toBe(1000);
    expect(byName.get('etc/empty')!.mtime).toBe(SDE);
    expect(entries.every((e) => e.uid === 0 && e.gid === 0)).toBe(true);
    // '.' has bin, etc, etc.d below it.
    expect(byName.get('.')!.nlink).toBe(5);
  });

  (isRoot ? it : it.skip)('keeps device nodes (needs root for mknod)', async () => {
    const con = (await collectEntries(root, opts)).find((e) => e.name.toString() === 'etc/console')!;
    expect(con.mode).toBe(0o020600);
    expect([con.rdevMajor, con.rdevMinor]).toEqual([5, 1]);
  });

  it('gives the same bytes twice, and GNU cpio reads back the same tree', async () => {
    const a = join(dir, 'a.cpio');
    const b = join(dir, 'b.cpio');
    const size = await makeCpio(root, a, opts);
    await utimes(join(root, 'etc/empty'), new Date(), new Date()); // later than SDE: clamped away
    await makeCpio(root, b, opts);
    const bytes = await readFile(a);
    expect(bytes.length).toBe(size);
    expect(size % 512).toBe(0);
    expect(bytes.equals(await readFile(b))).toBe(true);

    const out = join(dir, 'out');
    await mkdir(out);
    await run('cpio', ['-i', '-d', '-m', '--quiet', '-D', out, '-F', a]);
    expect(await readFile(join(out, 'bin/sh'), 'utf8')).toBe('not really busybox\n');
    expect(await readFile(join(out, 'bin/busybox'), 'utf8')).toBe('not really busybox\n');
    const listing = await run('cpio', ['-t', '-v', '--quiet', '-F', a]);
    expect(listing.stdout).toMatch(/lrwxrwxrwx .* bin\/ls -> busybox/);
  });
});

describe('hard links and inode numbers come from the tree, not from the host', () => {
  const file = (name: string, ino: bigint, nlink: bigint) => ({
    name: Buffer.from(name),
    path: Buffer.from(`/nowhere/${name}`),
    st: { mode: 0o100644n, dev: 42n, ino, nlink, uid: 0n, gid: 0n, mtimeMs: 0n, rdev: 0n, size: 5n },
  });
  const dir = (name: string, ino: bigint) => ({
    ...file(name, ino, 2n),
    st: { ...file(name, ino, 2n).st, mode: 0o040755n, size: 4096n },
  });

  it('groups a link by inode when the host reports a stale count of 1 (fake stats: disorderfs does it for about a second after link())', () => {
    const linked = [
      dir('.', 2n),
      dir('usr', 3n),
      file('usr/a', 7n, 2n),
      file('usr/b', 7n, 2n),
      file('usr/c', 8n, 1n),
    ];
    const stale = [
      dir('.', 2n),
      dir('usr', 3n),
      file('usr/a', 7n, 1n),
      file('usr/b', 7n, 2n),
      file('usr/c', 8n, 1n),
    ];
    const entries = entriesOf(linked, opts);
    expect(entriesOf(stale, opts)).toEqual(entries);
    const a = entries.find((e) => e.name.toString() === 'usr/a')!;
    const b = entries.find((e) => e.name.toString() === 'usr/b')!;
    expect([a.ino, a.nlink, a.size, b.ino, b.nlink, b.size]).toEqual([3, 2, 0, 3, 2, 5]);
  });

  it('numbers inodes by name order, whatever the host numbers and the walk order', () => {
    const one = [
      dir('.', 2n),
      dir('usr', 3n),
      file('usr/a', 7n, 2n),
      file('usr/b', 7n, 2n),
      file('usr/c', 8n, 1n),
    ];
    const other = [
      dir('.', 90n),
      file('usr/c', 11n, 1n),
      file('usr/b', 95n, 2n),
      dir('usr', 12n),
      file('usr/a', 95n, 2n),
    ];
    expect(entriesOf(other, opts)).toEqual(entriesOf(one, opts));
    expect(entriesOf(one, opts).map((e) => e.ino)).toEqual([1, 2, 3, 3, 4]);
  });

  describe('on real trees', () => {
    let tmp: string;
    beforeEach(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'isobuild-cpio-links-'));
    });
    afterEach(async () => {
      await run('fusermount', ['-u', join(tmp, 'mnt')], { allowFailure: true });
      await rm(tmp, { recursive: true, force: true });
    });

    /**
     * The same tree, its files created in the given order (so with other inode numbers);
     * 'link' links the root's library into the tether folder, as linkDuplicates does, right
     * after reading the library's attributes (which a FUSE kernel then keeps for a second).
     */
    async function makeTree(root: string, order: string[]): Promise<void> {
      await mkdir(join(root, 'usr/lib'), { recursive: true });
      await mkdir(join(root, '.tether-installs'), { recursive: true });
      for (const name of order) {
        if (name === 'link') {
          await lstat(join(root, 'usr/lib/libx.so'));
          await link(join(root, 'usr/lib/libx.so'), join(root, '.tether-installs/libx.so'));
        } else await writeFile(join(root, name), `${name}\n`);
      }
      for (const d of ['.', 'usr', 'usr/lib', '.tether-installs']) await utimes(join(root, d), 1000, 1000);
    }

    it('gives the same bytes for one tree made in two orders (other inode numbers)', async () => {
      await makeTree(join(tmp, 'a'), ['usr/lib/libx.so', 'usr/z', 'link', 'usr/a']);
      await makeTree(join(tmp, 'b'), ['usr/a', 'usr/z', 'usr/lib/libx.so', 'link']);
      await makeCpio(join(tmp, 'a'), join(tmp, 'a.cpio'), opts);
      await makeCpio(join(tmp, 'b'), join(tmp, 'b.cpio'), opts);
      expect((await readFile(join(tmp, 'a.cpio'))).equals(await readFile(join(tmp, 'b.cpio')))).toBe(true);
    });

    (existsSync('/usr/bin/disorderfs') && existsSync('/dev/fuse') && isRoot ? it : it.skip)(
      'gives the same bytes through disorderfs, links made through it, as on the folder below (needs disorderfs and root)',
      async () => {
        const below = join(tmp, 'below');
        const mnt = join(tmp, 'mnt');
        await mkdir(below);
        await mkdir(mnt);
        await run('disorderfs', ['--quiet', below, mnt]);
        await makeTree(mnt, ['usr/lib/libx.so', 'usr/z', 'usr/a', 'link']);
        await makeCpio(mnt, join(tmp, 'fuse.cpio'), opts);
        await run('fusermount', ['-u', mnt]);
        await makeCpio(below, join(tmp, 'below.cpio'), opts);
        expect((await readFile(join(tmp, 'fuse.cpio'))).equals(await readFile(join(tmp, 'below.cpio')))).toBe(
          true,
        );
      },
    );
  });
});
