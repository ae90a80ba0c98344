import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheLayout } from '../cache/cache.js';
import { writeFileWhole } from '../fs/replace-file.js';
import type { StageOutcome } from '../stage/types.js';

/**
 * What one build did with each stage: built, taken from the cache, pulled, skipped, and how long
 * it took. The manifest cannot say it (it is the same bytes whether stages were cached or not),
 * so the build leaves it in the cache's logs: `logs/<repo>/runs/<last stage's key>.json`, the
 * record of the last build that ended at that result, which the report's timeline reads.
 */
export interface RunRecord {
  readonly finishedAt: string;
  readonly stages: readonly Pick<StageOutcome, 'stage' | 'key' | 'status' | 'seconds'>[];
}

function runFile(layout: CacheLayout, repo: string, lastKey: string): string {
  return join(layout.logs(repo), 'runs', `${lastKey}.json`);
}

export async function writeRunRecord(
  layout: CacheLayout,
  repo: string,
  outcomes: readonly StageOutcome[],
): Promise<void> {
  const last = outcomes.at(-1);
  if (!last) return;
  const file = runFile(layout, repo, last.key);
  await mkdir(join(file, '..'), { recursive: true });
  const record: RunRecord = {
    finishedAt: new Date().toISOString(),
    stages: outcomes.map(({ stage, key, status, seconds }) => ({ stage, key, status, seconds })),
  };
  await writeFileWhole(file, JSON.stringify(record, null, 2) + '\n');
}

/** The record of the last build that ended at `lastKey`, or undefined when this cache has none. */
export async function readRunRecord(
  layout: CacheLayout,
  repo: string,
  lastKey: string,
): Promise<RunRecord | undefined> {
  try {
    return JSON.parse(await readFile(runFile(layout, repo, lastKey), 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}
