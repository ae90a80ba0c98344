import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { readElf, type ElfInfo } from '../fs/elf.js';
import { readLibraryDirs } from '../rootfs/ld-paths.js';
import { hostPath, walkInRoot } from '../rootfs/root-path.js';

/**
 * The set of in-root paths the minimised root keeps, each with the reasons it is kept.
 * Adding a path resolves it inside the root (keeping every symlink on the way), then pulls
 * in what the loader or the kernel will open without the trace seeing it: the ELF
 * interpreter and DT_NEEDED closure, and the `#!` interpreter of executed scripts.
 */
export const KEEP_REASONS = [
  'traced',
  'symlink',
  'elf',
  'shebang',
  'keep',
  'list_dirs',
  'init',
  'parent',
] as const;
export type KeepReason = (typeof KEEP_REASONS)[number];

export interface KeptEntry {
  reasons: Set<KeepReason>;
  /** The paths that caused this one to be kept (the binary needing a library, a link's name...). */
  via: Set<string>;
  type: 'file' | 'dir' | 'symlink' | 'other';
}

export interface AddOptions {
  /** Follow a final symlink (open/stat) or keep only the link (lstat/readlink). */
  follow?: boolean;
  /** The path does not need to exist: keep its parent directory instead (files the workload created). */
  create?: boolean;
  /** Read a `#!` line: the path was executed. */
  exec?: boolean;
  via?: string;
}

/** In-root paths the trace may show but the target provides itself (kernel filesystems, runtime dirs). */
const DROPPED = ['/proc', '/sys', '/dev', '/run'];

export function isDropped(path: string): boolean {
  // The mount points themselves stay (the init mounts on them); what is under them does not.
  return DROPPED.some((d) => path.startsWith(d + '/'));
}

export class KeepSet {
  readonly entries = new Map<string, KeptEntry>();
  private readonly elfDone = new Set<string>();
  private libDirs?: { 32: string[]; 64: string[] };

  constructor(
    readonly root: string,
    /** LD_LIBRARY_PATH of the workloads' environment, searched before ld.so.conf. */
    private readonly ldLibraryPath: readonly string[] = [],
  ) {}

  private record(path: string, reason: KeepReason, type: KeptEntry['type'], via?: string): void {
    let e = this.entries.get(path);
    if (!e) {
      e = { reasons: new Set(), via: new Set(), type };
      this.entries.set(path, e);
    }
    e.reasons.add(reason);
    if (via && via !== path) e.via.add(via);
  }

  /** Adds one in-root path; returns the resolved path when something was kept. */
  async add(path: string, reason: KeepReason, opts: AddOptions = {}): Promise<string | undefined> {
    const norm = posix.normalize(path);
    if (isDropped(norm)) return undefined;
    const r = await walkInRoot(this.root, norm, opts.follow ?? true);
    for (const link of r.links) {
      if (isDropped(link)) continue;
      // A link is kept as part of a chain, and for the reason its target is kept (elf, init...).
      this.record(link, 'symlink', 'symlink', opts.via ?? norm);
      if (reason !== 'traced') this.record(link, reason, 'symlink', opts.via ?? norm);
    }
    if (isDropped(r.path)) return undefined;
    if (!r.stat) {
      if (opts.create) {
        // A file the workload made: it is not in the root, but its directory must be, with its mode.
        const parent = posix.dirname(r.path);
        if (parent !== r.path) return this.add(parent, reason, { via: opts.via ?? norm });
      }
      return undefined;
    }
    const st = r.stat;
    const type: KeptEntry['type'] = st.isDirectory()
      ? 'dir'
      : st.isFile()
        ? 'file'
        : st.isSymbolicLink()
          ? 'symlink'
          : 'other';
    this.record(r.path, reason, type, opts.via);
    if (type === 'file') {
      await this.addElfClosure(r.path);
      if (opts.exec) await this.addShebang(r.path);
    }
    return r.path;
  }

  /** Adds the `#!` interpreter of a script (the kernel opens it; a chrooted trace shows only the script). */
  async addShebang(path: string): Promise<void> {
    const fh = await open(hostPath(this.root, path), 'r').catch(() => undefined);
    if (!fh) return;
    let head: string;
    try {
      const buf = Buffer.alloc(256);
      const { bytesRead } = await fh.read(buf, 0, 256, 0);
      head = buf.toString('utf8', 0, bytesRead);
    } finally {
      await fh.close();
    }
    if (!head.startsWith('#!')) return;
    const interp = head.slice(2).split('\n')[0]?.trim().split(/\s+/)[0];
    if (interp?.startsWith('/')) await this.add(interp, 'shebang', { exec: true, via: path });
  }

  private async searchDirs(bits: 32 | 64): Promise<string[]> {
    if (!this.libDirs)
      this.libDirs = { 32: await readLibraryDirs(this.root, 32), 64: await readLibraryDirs(this.root, 64) };
    return this.libDirs[bits];
  }

  /** Adds the interpreter and the DT_NEEDED closure of an ELF file (no-op for other files). */
  async addElfClosure(path: string): Promise<void> {
    if (this.elfDone.has(path)) return;
    this.elfDone.add(path);
    const info = await readElf(hostPath(this.root, path));
    if (!info) return;
    if (info.interpreter) await this.add(info.interpreter, 'elf', { via: path });
    for (const name of info.needed) {
      const lib = await this.findLibrary(name, info, path);
      if (lib) await this.add(lib, 'elf', { via: path });
    }
  }

  /** Finds a DT_NEEDED library the way ld.so does: RPATH, LD_LIBRARY_PATH, RUNPATH, ld.so.conf, trusted dirs. */
  private async findLibrary(name: string, info: ElfInfo, from: string): Promise<string | undefined> {
    if (name.includes('/')) return name.startsWith('/') ? name : undefined;
    const origin = posix.dirname(from);
    const expand = (d: string) =>
      d
        .replace(/\$(ORIGIN|\{ORIGIN\})/g, origin)
        .replace(/\$(LIB|\{LIB\})/g, info.bits === 64 ? 'lib64' : 'lib')
        .replace(/\$(PLATFORM|\{PLATFORM\})/g, 'x86_64');
    const dirs = [
      ...(info.runpath.length ? [] : info.rpath.map(expand)),
      ...this.ldLibraryPath,
      ...info.runpath.map(expand),
      ...(await this.searchDirs(info.bits)),
    ];
    for (const dir of dirs) {
      const candidate = posix.join(dir, name);
      const r = await walkInRoot(this.root, candidate);
      if (!r.stat?.isFile()) continue;
      const lib = await readElf(hostPath(this.root, r.path));
      if (lib && lib.bits === info.bits && lib.machine === info.machine) return candidate;
    }
    return undefined;
  }

  /** Removes entries matching `exclude` (never those the init needs). */
  exclude(patterns: readonly RegExp[]): string[] {
    const removed: string[] = [];
    for (const [p, e] of this.entries) {
      if (e.reasons.has('init')) continue;
      if (patterns.some((re) => re.test(p))) {
        this.entries.delete(p);
        removed.push(p);
      }
    }
    return removed.sort();
  }

  /** Records every parent directory of the kept paths (they exist in the root as directories). */
  addParents(): void {
    for (const p of [...this.entries.keys()]) {
      let d = posix.dirname(p);
      while (d !== '/' && !this.entries.has(d)) {
        this.record(d, 'parent', 'dir');
        d = posix.dirname(d);
      }
    }
  }

  /** The kept paths, sorted (parents before children). */
  paths(): string[] {
    return [...this.entries.keys()].sort();
  }
}
