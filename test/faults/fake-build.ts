/**
 * Drives test/faults/fixtures/fake-build.mjs: isobuild's real pipeline (dist/, built by
 * `make test`) running small fake stages, so each fault is reproduced in well under a second
 * of build work. Each test gets its own cache and repo folder.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const HERE = dirname(fileURLToPath(import.meta.url));
export const FIXTURE = join(HERE, 'fixtures', 'fake-build.mjs');
export const CLI = join(HERE, '..', '..', 'dist', 'cli', 'main.js');
export const SHIPPED_REPOS = join(HERE, '..', '..', 'repos');

export interface FakeRepo {
  dir: string;
  cache: string;
  repo: string;
  remove(): Promise<void>;
}

export async function makeFakeRepo(cacheRoot?: string): Promise<FakeRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'isobuild-fault-'));
  const repo = join(dir, 'repo');
  await mkdir(repo);
  await writeFile(join(repo, 'input.txt'), 'one\n');
  return {
    dir,
    repo,
    cache: cacheRoot ?? join(dir, 'cache'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export function startFakeBuild(
  r: FakeRepo,
  mode = 'ok',
  env: Record<string, string> = {},
): ResultPromise<{ reject: false; all: true }> {
  return execa('node', [FIXTURE, r.cache, r.repo, mode], { reject: false, all: true, env }) as never;
}

/** Wait until `check` holds (polling), or fail after `ms`. */
export async function waitFor(check: () => Promise<boolean> | boolean, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(50);
  }
}

/** Processes whose command line contains `marker` (a per-test temp path). */
export async function processesWith(marker: string): Promise<number[]> {
  const { readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(marker)) pids.push(Number(name));
  }
  return pids;
}

export async function listTree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).sort();
}
