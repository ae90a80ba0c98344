import { readFile, realpath, stat } from 'node:fs/promises';
import { writeFileWhole } from '../fs/replace-file.js';
import { findOnPath } from './host-tools.js';
import { run } from './run.js';

/**
 * Host tool versions, for stage inputs: a new xorriso or zstd may write different bytes. Each
 * binary is asked once per process; the answer is kept under the binary's real path, size and
 * mtime, so an upgrade during a long-running process (tests, a watch loop) is still noticed
 * and a tool found under two names is asked once.
 */
const versions = new Map<string, Promise<string>>();

/**
 * The same answers kept between runs (useToolVersionFile): a no-op rebuild then runs no tool
 * at all. The key holds the binary's identity, so an upgraded tool is asked again.
 */
let persisted: { file: string; answers: Record<string, string>; changed: boolean } | undefined;

/** Keep answers in `file` (the build cache's tool-versions.json) from now on. */
export async function useToolVersionFile(file: string): Promise<void> {
  let answers: Record<string, string> = {};
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      answers = parsed as Record<string, string>;
  } catch {
    // Missing or unreadable: start empty, it is only a cache.
  }
  persisted = { file, answers, changed: false };
}

/** Write new answers out (whole file replaced, so a crashed write leaves the old one). */
export async function saveToolVersionFile(): Promise<void> {
  if (!persisted?.changed) return;
  const { file, answers } = persisted;
  await writeFileWhole(file, JSON.stringify(answers, null, 1) + '\n', { mkdir: true });
  persisted.changed = false;
}

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
    const known = persisted?.answers[key];
    version = known !== undefined ? Promise.resolve(known) : probe(tool, args).then(remember(key));
    versions.set(key, version);
  }
  return version;
}

function remember(key: string) {
  return (answer: string): string => {
    if (persisted && !answer.endsWith(': missing')) {
      persisted.answers[key] = answer;
      persisted.changed = true;
    }
    return answer;
  };
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
