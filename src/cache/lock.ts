import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BuildError } from '../errors.js';
import { cancelSignal, throwIfCancelled } from '../exec/cancel.js';
import { processStartTime } from '../exec/process-group.js';
import type { Logger } from '../log/logger.js';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Lock {
  release(): Promise<void>;
}

/** Who holds a lock: host + pid + the pid's start time, so a reused pid is not taken for the owner. */
export interface LockOwner {
  host: string;
  pid: number;
  /** /proc/PID/stat start time (clock ticks since boot). */
  start: string;
  /** When the lock was taken (ISO time), for the message a waiting build prints. */
  since: string;
  command: string;
}

export async function currentOwner(): Promise<LockOwner> {
  return {
    host: hostname(),
    pid: process.pid,
    start: (await processStartTime(process.pid)) ?? '',
    since: new Date().toISOString(),
    command: process.argv.slice(2).join(' '),
  };
}

/** A lock folder's owner; undefined when it has none (left by an older isobuild, or by hand). */
export async function readOwner(lockDir: string): Promise<LockOwner | undefined> {
  const text = await readFile(join(lockDir, 'owner'), 'utf8').catch(() => '');
  try {
    const owner = JSON.parse(text) as LockOwner;
    if (typeof owner.pid === 'number' && typeof owner.host === 'string') return owner;
  } catch {
    // Older isobuilds wrote the bare pid.
    const pid = Number(text.trim());
    if (Number.isInteger(pid) && pid > 0) return { host: hostname(), pid, start: '', since: '', command: '' };
  }
  return undefined;
}

/** Whether the owner is still running: on this host, same pid and same start time. */
export async function ownerAlive(owner: LockOwner): Promise<boolean> {
  if (owner.host !== hostname()) return true; // Cannot tell from here: assume it runs.
  if (!isAlive(owner.pid)) return false;
  if (!owner.start) return true;
  return (await processStartTime(owner.pid)) === owner.start;
}

export function describeOwner(owner: LockOwner): string {
  const where = owner.host === hostname() ? `pid ${owner.pid}` : `pid ${owner.pid} on ${owner.host}`;
  const since = owner.since ? `, since ${owner.since}` : '';
  const what = owner.command ? `: isobuild ${owner.command}` : '';
  return `${where}${since}${what}`;
}

/**
 * One build of a repo at a time. The lock is a folder holding its owner, made complete under a
 * temp name and renamed into place, so a lock is never without its owner; a lock whose owner
 * is dead (a killed build, or a pid reused since) is taken over. A second build waits up to
 * `timeoutSeconds`, saying who holds the lock, and stops at once on Ctrl-C.
 */
export async function acquireLock(
  dir: string,
  name: string,
  timeoutSeconds: number,
  logger: Logger,
  what = `build of ${name}`,
): Promise<Lock> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, `${name}.lock`);
  const deadline = Date.now() + timeoutSeconds * 1000;
  const me = await currentOwner();
  let told = false;
  for (;;) {
    throwIfCancelled();
    if (await tryCreate(path, me)) return { release: () => rm(path, { recursive: true, force: true }) };
    const owner = await readOwner(path);
    if (!owner || !(await ownerAlive(owner))) {
      const why = owner ? `left by ${describeOwner(owner)}, which is no longer running` : 'without an owner';
      if (await takeOver(path, owner)) logger.warn(`removed the stale lock of ${name} (${why})`);
      continue;
    }
    if (Date.now() >= deadline)
      throw new BuildError(
        `another ${what} is running (${describeOwner(owner)}; lock ${path}); ` +
          (timeoutSeconds ? `waited ${timeoutSeconds} s` : 'not waiting (--lock-timeout 0)'),
      );
    if (!told) {
      logger.info(`waiting for another ${what} (${describeOwner(owner)}) to finish... (Ctrl-C stops)`);
      told = true;
    }
    await sleep(250, undefined, { signal: cancelSignal() }).catch(() => undefined);
  }
}

async function tryCreate(path: string, owner: LockOwner): Promise<boolean> {
  const draft = `${path}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(draft, { mode: 0o755 });
  try {
    await writeFile(join(draft, 'owner'), JSON.stringify(owner) + '\n', { mode: 0o644 });
    // rename() replaces only an empty folder: an existing lock with its owner stays.
    await rename(draft, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    return false;
  } finally {
    await rm(draft, { recursive: true, force: true });
  }
}

/**
 * Move a stale lock aside and delete it. If another build took the lock over between our look
 * and the move, what we moved is its live lock: put it back.
 */
async function takeOver(path: string, judged: LockOwner | undefined): Promise<boolean> {
  const grave = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, grave);
  } catch {
    return false;
  }
  const moved = await readOwner(grave);
  if (moved && (moved.pid !== judged?.pid || moved.start !== judged?.start)) {
    await rename(grave, path).catch(() => undefined);
    return false;
  }
  await rm(grave, { recursive: true, force: true });
  return true;
}
