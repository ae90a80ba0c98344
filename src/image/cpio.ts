import { createWriteStream } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { BuildError } from '../errors.js';

/**
 * A newc ("070701") cpio writer, written here rather than driving GNU cpio so that every
 * byte is ours to decide: entries sorted byte-wise, inode numbers given in that order,
 * ownership and mtimes fixed by the caller, hard links and device nodes kept. GNU cpio's
 * --reproducible still takes the order from its input and the device numbers from the host.
 */

/** What one archive member needs; built from lstat by `collectEntries`, or by hand in tests. */
export interface CpioEntry {
  /** Path inside the archive, without a leading '/' or './'; '.' is the root itself. */
  name: Buffer;
  /** Full st_mode: file type and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** Inode number inside the archive; members of one hard-link group share it. */
  ino: number;
  nlink: number;
  rdevMajor: number;
  rdevMinor: number;
  /** Regular files: the host file to copy, and its size. Symlinks: the target. */
  source?: string;
  size: number;
  linkTarget?: Buffer;
}

export interface CpioOptions {
  /** Every mtime later than this is clamped to it (SOURCE_DATE_EPOCH). */
  sourceDateEpoch: number;
  /**
   * 'zero': every member owned by 0:0. 'keep': the root's own numeric owners, which a
   * package manager running as root set on purpose (mkosi does the same split).
   */
  ownership: 'zero' | 'keep';
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const TRAILER = Buffer.from('TRAILER!!!');
/** newc stores sizes in 8 hex digits. */
const MAX_SIZE = 0xffffffff;

/** Byte-wise order, so the archive does not depend on the locale or the file system's order. */
export function compareNames(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

export function clampMtime(mtime: number, sourceDateEpoch: number): number {
  return Math.max(0, Math.min(Math.floor(mtime), sourceDateEpoch));
}

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Header and name of one member, padded so the data starts on a 4-byte boundary. */
export function encodeHeader(e: CpioEntry): Buffer {
  if (e.size > MAX_SIZE) throw new BuildError(`${e.name.toString()} is larger than newc's 4 GiB limit`);
  const fields = [
    e.ino,
    e.mode,
    e.uid,
    e.gid,
    e.nlink,
    e.mtime,
    e.size,
    0, // devmajor: the archive is one device, so hard links match on ino alone
    0, // devminor
    e.rdevMajor,
    e.rdevMinor,
    e.name.length + 1,
    0, // check: only used by the "070702" crc format
  ];
  const head = Buffer.from('070701' + fields.map(hex8).join(''), 'ascii');
  const nameLen = head.length + e.name.length + 1;
  return Buffer.concat([head, e.name, Buffer.alloc(1 + pad4(nameLen))]);
}

export function trailerEntry(): CpioEntry {
  return {
    name: TRAILER,
    mode: 0,
    uid: 0,
    gid: 0,
    mtime: 0,
    ino: 0,
    nlink: 1,
    rdevMajor: 0,
    rdevMinor: 0,
    size: 0,
  };
}

interface Found {
  name: Buffer;
  path: Buffer;
  st: import('node:fs').BigIntStats;
}

async function walk(root: string): Promise<Found[]> {
  const found: Found[] = [];
  const rootPath = Buffer.from(root);
  found.push({ name: Buffer.from('.'), path: rootPath, st: await lstat(root, { bigint: true }) });
  const visit = async (dirPath: Buffer, prefix: Buffer | null) => {
    const names = await readdir(dirPath, { encoding: 'buffer' });
    for (const n of names) {
      const path = Buffer.from(join(dirPath.toString('latin1'), n.toString('latin1')), 'latin1');
      const name = prefix ? Buffer.concat([prefix, Buffer.from('/'), n]) : n;
      const st = await lstat(path, { bigint: true });
      found.push({ name, path, st });
      if ((Number(st.mode) & S_IFMT) === S_IFDIR) await visit(path, name);
    }
  };
  await visit(rootPath, null);
  return found;
}

/**
 * Every member of the archive for the tree at `root`, in archive order, with inode numbers
 * assigned in that order (1, 2, ...) and hard-link groups sharing the first one's.
 * GNU cpio's convention for hard links is kept: only the group's last member carries the data.
 */
export async function collectEntries(root: string, opts: CpioOptions): Promise<CpioEntry[]> {
  const found = (await walk(root)).sort((a, b) => compareNames(a.name, b.name));
  // Hard-link groups, keyed by the host's (dev, ino); counted inside the archive only.
  const groups = new Map<string, number[]>();
  found.forEach((f, i) => {
    const type = Number(f.st.mode) & S_IFMT;
    if (type === S_IFDIR || f.st.nlink < 2n) return;
    const key = `${f.st.dev}:${f.st.ino}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const subdirs = new Map<string, number>();
  for (const f of found) {
    if ((Number(f.st.mode) & S_IFMT) !== S_IFDIR || f.name.toString('latin1') === '.') continue;
    const slash = f.name.lastIndexOf('/');
    const parent = slash === -1 ? '.' : f.name.subarray(0, slash).toString('latin1');
    subdirs.set(parent, (subdirs.get(parent) ?? 0) + 1);
  }

  const inoOf = new Map<string, number>();
  let nextIno = 1;
  const entries: CpioEntry[] = [];
  for (let i = 0; i < found.length; i++) {
    const f = found[i]!;
    const mode = Number(f.st.mode);
    const type = mode & S_IFMT;
    const key = `${f.st.dev}:${f.st.ino}`;
    const group = type === S_IFDIR ? undefined : groups.get(key);
    let ino = group ? inoOf.get(key) : undefined;
    if (ino === undefined) {
      ino = nextIno++;
      if (group) inoOf.set(key, ino);
    }
    const { major, minor } = splitDev(f.st.rdev);
    const isDevice = type !== S_IFREG && type !== S_IFDIR && type !== S_IFLNK;
    const entry: CpioEntry = {
      name: f.name,
      mode,
      uid: opts.ownership === 'keep' ? Number(f.st.uid) : 0,
      gid: opts.ownership === 'keep' ? Number(f.st.gid) : 0,
      mtime: clampMtime(Number(f.st.mtimeMs / 1000n), opts.sourceDateEpoch),
      ino,
      nlink: type === S_IFDIR ? 2 + (subdirs.get(f.name.toString('latin1')) ?? 0) : (group?.length ?? 1),
      rdevMajor: isDevice ? major : 0,
      rdevMinor: isDevice ? minor : 0,
      size: 0,
    };
    if (type === S_IFREG && (!group || group[group.length - 1] === i)) {
      entry.source = f.path.toString('latin1');
      entry.size = Number(f.st.size);
    } else if (type === S_IFLNK) {
      entry.linkTarget = await readlink(f.path, { encoding: 'buffer' });
      entry.size = entry.linkTarget.length;
    }
    entries.push(entry);
  }
  return entries;
}

async function writeChunk(out: Writable, chunk: Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/** Copies a member's data, checking that the file did not change size under us. */
async function writeFileData(out: Writable, e: CpioEntry): Promise<void> {
  const fh = await open(Buffer.from(e.source!, 'latin1'), 'r');
  try {
    let left = e.size;
    while (left > 0) {
      const buf = Buffer.alloc(Math.min(left, 1 << 20));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      await writeChunk(out, buf.subarray(0, bytesRead));
      left -= bytesRead;
    }
    if (left !== 0) throw new BuildError(`${e.name.toString()} shrank while being archived`);
  } finally {
    await fh.close();
  }
}

/** Writes the members (and the trailer) to `out`; returns the bytes written. */
export async function writeEntries(out: Writable, entries: readonly CpioEntry[]): Promise<number> {
  let written = 0;
  for (const e of [...entries, trailerEntry()]) {
    const head = encodeHeader(e);
    await writeChunk(out, head);
    written += head.length;
    if (e.size === 0) continue;
    if (e.linkTarget) await writeChunk(out, e.linkTarget);
    else await writeFileData(out, e);
    const pad = pad4(e.size);
    if (pad) await writeChunk(out, Buffer.alloc(pad));
    written += e.size + pad;
  }
  // The kernel reads initramfs in 512-byte blocks happily, but cpio tools expect the
  // archive padded to a whole block, as GNU cpio writes it.
  const blockPad = (512 - (written % 512)) % 512;
  if (blockPad) await writeChunk(out, Buffer.alloc(blockPad));
  return written + blockPad;
}

/** Archives the tree at `root` into the file `dest` (uncompressed newc). */
export async function makeCpio(root: string, dest: string, opts: CpioOptions): Promise<number> {
  const entries = await collectEntries(root, opts);
  const out = createWriteStream(dest);
  try {
    const n = await writeEntries(out, entries);
    out.end();
    await once(out, 'finish');
    return n;
  } catch (err) {
    out.destroy();
    throw err;
  }
}
