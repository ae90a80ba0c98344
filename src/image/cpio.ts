import { lstatSync, readdirSync, readFileSync, readlinkSync, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { BuildError } from '../errors.js';

/**
 * A newc ("070701") cpio writer, written here rather than driving GNU cpio so that every
 * byte is ours to decide: entries sorted byte-wise, inode numbers given in that order,
 * ownership and mtimes fixed by the caller, hard links (as the tree has them, never as the
 * host counts them) and device nodes kept. GNU cpio's
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
  source?: Buffer;
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

/**
 * Synchronous file system calls on purpose: for tens of thousands of small files, the
 * thread-pool round trip of each async call costs more than the call itself (3-4x slower
 * than GNU cpio in measurements). The event loop is handed back now and then so that a
 * Ctrl-C is still seen.
 */
async function walk(root: string): Promise<FoundPath[]> {
  const found: FoundPath[] = [];
  const rootPath = Buffer.from(root);
  found.push({ name: Buffer.from('.'), path: rootPath, st: lstatSync(rootPath, { bigint: true }) });
  const stack: Array<[Buffer, Buffer | null]> = [[rootPath, null]];
  while (stack.length) {
    const [dirPath, prefix] = stack.pop()!;
    for (const n of readdirSync(dirPath, { encoding: 'buffer' })) {
      const path = Buffer.concat([dirPath, Buffer.from('/'), n]);
      const name = prefix ? Buffer.concat([prefix, Buffer.from('/'), n]) : n;
      const st = lstatSync(path, { bigint: true });
      found.push({ name, path, st });
      if ((Number(st.mode) & S_IFMT) === S_IFDIR) stack.push([path, name]);
    }
    if (found.length % 4096 < 64) await yieldToLoop();
  }
  return found;
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Every member of the archive for the tree at `root`, in archive order: see `entriesOf`.
 */
export async function collectEntries(root: string, opts: CpioOptions): Promise<CpioEntry[]> {
  return entriesOf(await walk(root), opts);
}

/** What `entriesOf` reads of one path: its name in the archive, its host path and lstat. */
export interface FoundPath {
  name: Buffer;
  path: Buffer;
  st: Pick<BigIntStats, 'mode' | 'dev' | 'ino' | 'nlink' | 'uid' | 'gid' | 'mtimeMs' | 'rdev' | 'size'>;
}

/**
 * The members for the walked paths, sorted byte-wise, with inode numbers assigned in that
 * order (1, 2, ...) and hard-link groups sharing the first one's. A group is every path of
 * the tree on one host inode (dev, ino), whatever st_nlink says: a FUSE file system such as
 * disorderfs reports a stale count of 1 for a second or so after a link() (the kernel's
 * cached attributes), and reading the count made one tree's initrd differ with the file
 * system it was built on. The archive's nlink is the group's size inside the archive.
 * GNU cpio's convention for hard links is kept: only the group's last member carries the data.
 */
export function entriesOf(walked: readonly FoundPath[], opts: CpioOptions): CpioEntry[] {
  const found = [...walked].sort((a, b) => compareNames(a.name, b.name));
  const keyOf = (f: FoundPath) => `${f.st.dev}:${f.st.ino}`;
  const groups = new Map<string, number[]>();
  found.forEach((f, i) => {
    if ((Number(f.st.mode) & S_IFMT) === S_IFDIR) return;
    const key = keyOf(f);
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
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
    const key = keyOf(f);
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
      entry.source = f.path;
      entry.size = Number(f.st.size);
    } else if (type === S_IFLNK) {
      entry.linkTarget = readlinkSync(f.path, { encoding: 'buffer' });
      entry.size = entry.linkTarget.length;
    }
    entries.push(entry);
  }
  return entries;
}

/**
 * Collects small writes (headers, padding, small files) into one buffer so that a root of
 * 50,000 files is written in a few hundred write calls rather than 150,000.
 */
class BufferedSink {
  private buf = Buffer.alloc(4 << 20);
  private used = 0;
  constructor(private readonly fh: FileHandle) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.used + chunk.length > this.buf.length) await this.flush();
    if (chunk.length >= this.buf.length) {
      await writeAll(this.fh, chunk);
      return;
    }
    chunk.copy(this.buf, this.used);
    this.used += chunk.length;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await writeAll(this.fh, this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
}

/** Files up to this size are read whole; larger ones are streamed. */
const SMALL_FILE = 1 << 20;

function checkSize(e: CpioEntry, got: number): void {
  if (got !== e.size) throw new BuildError(`${e.name.toString()} changed size while being archived`);
}

/** Streams a large member's data, checking that the file did not change size under us. */
async function copyLargeFile(sink: BufferedSink, e: CpioEntry): Promise<void> {
  const fh = await open(e.source!, 'r');
  try {
    let done = 0;
    const buf = Buffer.alloc(4 << 20);
    while (done < e.size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, e.size - done), null);
      if (bytesRead === 0) break;
      await sink.write(Buffer.from(buf.subarray(0, bytesRead)));
      done += bytesRead;
    }
    checkSize(e, done);
  } finally {
    await fh.close();
  }
}

/** Writes the members (and the trailer) to `fh`; returns the bytes written. */
export async function writeEntries(fh: FileHandle, entries: readonly CpioEntry[]): Promise<number> {
  const sink = new BufferedSink(fh);
  const all = [...entries, trailerEntry()];
  const isSmall = (e: CpioEntry) => e.source !== undefined && e.size <= SMALL_FILE;
  let written = 0;
  for (let i = 0; i < all.length; i++) {
    const e = all[i]!;
    const head = encodeHeader(e);
    await sink.write(head);
    written += head.length;
    if (i % 4096 === 0) await yieldToLoop();
    if (e.size === 0) continue;
    if (e.linkTarget) await sink.write(e.linkTarget);
    else if (isSmall(e)) {
      const data = readFileSync(e.source!);
      checkSize(e, data.length);
      await sink.write(data);
    } else await copyLargeFile(sink, e);
    const pad = pad4(e.size);
    if (pad) await sink.write(Buffer.alloc(pad));
    written += e.size + pad;
  }
  // The kernel does not care, but cpio tools expect whole 512-byte blocks, as GNU cpio writes.
  const blockPad = (512 - (written % 512)) % 512;
  if (blockPad) await sink.write(Buffer.alloc(blockPad));
  await sink.flush();
  return written + blockPad;
}

/** Archives the tree at `root` into the file `dest` (uncompressed newc). */
export async function makeCpio(root: string, dest: string, opts: CpioOptions): Promise<number> {
  const entries = await collectEntries(root, opts);
  const fh = await open(dest, 'w');
  try {
    return await writeEntries(fh, entries);
  } finally {
    await fh.close();
  }
}
