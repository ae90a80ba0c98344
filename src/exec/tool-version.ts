import { realpath, stat } from 'node:fs/promises';
import { findOnPath } from './host-tools.js';
import { run } from './run.js';

/**
 * Host tool versions, for stage inputs: a new xorriso or zstd may write different bytes. Each
 * binary is asked once per process; the answer is kept under the binary's real path, size and
 * mtime, so an upgrade during a long-running process (tests, a watch loop) is still noticed
 * and a tool found under two names is asked once.
 */
const versions = new Map<string, Promise<string>>();

/** What identifies one build of a binary without running it: real path, size, mtime. */
export async function binaryIdentity(tool: string): Promise<string | undefined> {
  const found = tool.includes('/') ? tool : await findOnPath(tool);
  if (!found) return undefined;
  try {
    const path = await realpath(found);
    const st = await stat(path);
    return `${path}\0${st.size}\0${Math.floor(st.mtimeMs)}`;
  } catch {
    return undefined;
  }
}

/**
 * `tool: <first non-empty line of its version output>`; `tool: missing` when it is not
 * installed (preflight reports that properly, with the package to install).
 */
export async function readToolVersion(
  tool: string,
  args: readonly string[] = ['--version'],
): Promise<string> {
  const identity = await binaryIdentity(tool);
  if (!identity) return `${tool}: missing`;
  const key = `${identity}\0${args.join('\0')}`;
  let version = versions.get(key);
  if (!version) {
    version = probe(tool, args);
    versions.set(key, version);
  }
  return version;
}

async function probe(tool: string, args: readonly string[]): Promise<string> {
  try {
    const res = await run(tool, args, { allowFailure: true });
    const line = (res.stdout || res.stderr).split('\n').find((l) => l.trim() !== '');
    return `${tool}: ${line?.trim() ?? 'unknown'}`;
  } catch {
    return `${tool}: missing`;
  }
}
