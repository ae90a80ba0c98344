import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256, sha256File } from '../fs/hash.js';
import { hostPath, walkInRoot } from '../rootfs/root-path.js';
import { isDropped } from './closure.js';
import type { Access } from './trace-events.js';
import { describeTrace, type Workload } from './tracer.js';

/**
 * Reused traces (docs/minimise.md). A workload is a program reading files: run again on the same
 * files, it does the same. So a trace an earlier build of the stage recorded stands for a new one
 * when every path that trace used, and every path it looked for in vain, is unchanged in this
 * root: the same symlinks on the way, type, mode, owner, mtime, size and bytes, and the same
 * names in the folders it listed. Adding a package to packages.base changes files no workload
 * reads, and minimise then skips strace. What the trace used is resolved again in this root, so
 * the kept set (ELF closure, keep globs, the init's needs) is always this root's.
 */

/** The report artifact the minimise stage writes beside its manifest (a report: no later stage reads it). */
export const TRACE_MEMO_ARTIFACT = 'minimise-traces.json';

/** Bumped when what a trace records or how a fingerprint is made changes. */
const MEMO_VERSION = 1;

/** One path a trace depended on, and what it was. */
export interface Observation {
  path: string;
  follow: boolean;
  listed: boolean;
  is: string;
}

export interface RecordedTrace {
  /** workloadKey: the command as run, its environment and input. */
  key: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  accesses: Pick<Access, 'path' | 'kind' | 'follow'>[];
  observed: Observation[];
}

export interface TraceMemo {
  version: number;
  traces: RecordedTrace[];
  /** keptDigest of the root the workloads were verified in, when they were. */
  verified?: string;
}

/** What identifies a workload's run, apart from the root: the full command line, environment and input. */
export function workloadKey(w: Workload, env: Record<string, string>): string {
  const describe = describeTrace('ROOT', w);
  return sha256()
    .update(JSON.stringify({ v: MEMO_VERSION, describe, env, stdin: w.stdin ?? '', exit: w.exit ?? 0 }))
    .digest('hex');
}

/** Fingerprints paths of one root; a file read by many paths is hashed once. */
export class RootFingerprints {
  private readonly hashes = new Map<string, Promise<string>>();

  constructor(readonly root: string) {}

  private hash(path: string): Promise<string> {
    let h = this.hashes.get(path);
    if (!h) {
      h = sha256File(hostPath(this.root, path));
      this.hashes.set(path, h);
    }
    return h;
  }

  /** What `path` is in the root, as a trace would have met it. */
  async of(path: string, follow: boolean, listed: boolean): Promise<string> {
    const r = await walkInRoot(this.root, path, follow);
    const chain = [...r.links, r.path].join(' > ');
    if (r.tooManyLinks) return `loop ${chain}`;
    const st = r.stat;
    if (!st) return `absent ${chain}`;
    const head = `${chain} ${st.mode.toString(8)} ${st.uid}:${st.gid}`;
    // A folder's mtime is left out: it moves whenever a file beside the used ones is added
    // (and the pipeline clamps it afterwards); its names count where they were listed.
    if (st.isDirectory()) {
      if (!listed) return `dir ${head}`;
      const names = (await readdir(hostPath(this.root, r.path))).sort();
      return `dir ${head} [${names.join('/')}]`;
    }
    if (st.isFile()) return `file ${head} ${st.mtimeMs} ${st.size} ${await this.hash(r.path)}`;
    if (st.isSymbolicLink())
      return `link ${head} ${st.mtimeMs} ${await readlink(hostPath(this.root, r.path))}`;
    return `other ${head} ${st.mtimeMs} ${st.rdev}`;
  }

  /** The observations a trace's facts make in this root: each used or missing path, once. */
  async observe(accesses: readonly Access[], missing: readonly string[]): Promise<Observation[]> {
    const wanted = new Map<string, Omit<Observation, 'is'>>();
    const want = (path: string, follow: boolean, listed: boolean) => {
      if (!isDropped(path)) wanted.set(`${path}\0${follow}\0${listed}`, { path, follow, listed });
    };
    for (const a of accesses) want(a.path, a.follow, a.kind === 'list');
    for (const p of missing) want(p, true, false);
    const keys = [...wanted.keys()].sort();
    const out: Observation[] = [];
    for (const k of keys) {
      const o = wanted.get(k) as Omit<Observation, 'is'>;
      out.push({ ...o, is: await this.of(o.path, o.follow, o.listed) });
    }
    return out;
  }

  /** Whether every observation still holds in this root. */
  async holds(observed: readonly Observation[]): Promise<boolean> {
    for (const o of observed) if ((await this.of(o.path, o.follow, o.listed)) !== o.is) return false;
    return true;
  }

  /** The digest of the kept paths as they are in this root: equal digests, equal minimised roots. */
  async keptDigest(paths: readonly string[]): Promise<string> {
    const h = sha256();
    for (const p of paths) h.update(`${p}\0${await this.of(p, false, false)}\n`);
    return h.digest('hex');
  }
}

/** The memo a stage writes: its traces, and the kept set they were verified on. */
export function traceMemo(traces: RecordedTrace[], verified: string): TraceMemo {
  return { version: MEMO_VERSION, traces, verified };
}

/** The memos earlier entries of the stage recorded, newest first; unreadable ones are skipped. */
export async function readTraceMemos(artifactDirs: readonly string[]): Promise<TraceMemo[]> {
  const memos: TraceMemo[] = [];
  for (const dir of artifactDirs) {
    const text = await readFile(join(dir, TRACE_MEMO_ARTIFACT), 'utf8').catch(() => undefined);
    if (!text) continue;
    try {
      const memo = JSON.parse(text) as TraceMemo;
      if (memo.version === MEMO_VERSION && Array.isArray(memo.traces)) memos.push(memo);
    } catch {
      // A damaged report is no reason to fail a build: the workload is traced again.
    }
  }
  return memos;
}

/** The first recorded trace of this workload whose observations hold in the root, with its memo. */
export async function findReusableTrace(
  memos: readonly TraceMemo[],
  key: string,
  prints: RootFingerprints,
): Promise<{ memo: TraceMemo; trace: RecordedTrace } | undefined> {
  for (const memo of memos)
    for (const trace of memo.traces)
      if (trace.key === key && (await prints.holds(trace.observed))) return { memo, trace };
  return undefined;
}
