import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BuildError } from '../errors.js';
import { throwIfCancelled } from '../exec/cancel.js';
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

/**
 * One build of a repo at a time. mkdir is atomic, so the lock is a folder holding the owner's
 * pid; a lock whose owner is dead (killed build) is taken over. A second build waits up to
 * `timeoutSeconds`, then stops and says who holds the lock.
 */
export async function acquireLock(
  dir: string,
  name: string,
  timeoutSeconds: number,
  logger: Logger,
): Promise<Lock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.lock`);
  const deadline = Date.now() + timeoutSeconds * 1000;
  let told = false;
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, 'owner'), `${process.pid}\n`);
      return { release: () => rm(path, { recursive: true, force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(join(path, 'owner'), 'utf8').catch(() => '')).trim());
    if (owner && !isAlive(owner)) {
      logger.warn(`removing stale lock of ${name} left by pid ${owner}`);
      await rm(path, { recursive: true, force: true });
      continue;
    }
    if (!owner) {
      // Just created by another process that has not written its pid yet.
      await sleep(200);
      if (Date.now() > deadline + 5000) await rm(path, { recursive: true, force: true });
      continue;
    }
    if (Date.now() >= deadline)
      throw new BuildError(
        `another build of ${name} is running (pid ${owner}, lock ${path}); ` +
          (timeoutSeconds ? `waited ${timeoutSeconds} s` : 'not waiting (--lock-timeout 0)'),
      );
    if (!told) {
      logger.info(`waiting for another build of ${name} (pid ${owner}) to finish...`);
      told = true;
    }
    throwIfCancelled();
    await sleep(500);
  }
}
