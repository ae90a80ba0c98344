import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * When the package lists in the package cache were last fetched, and from which sources. A
 * build whose lists are younger than the spec's package_lists_max_age (or --lists-max-age)
 * and come from the same sources asks no mirror for them (mkosi's CacheOnly=metadata idea);
 * --refresh makes the age 0.
 */
export interface ListsStamp {
  /** Unix seconds. */
  refreshedAt: number;
  /** Digest of the sources the lists were fetched from (digestSources). */
  sources: string;
}

export type ListsFreshness = { fresh: true; ageSeconds: number } | { fresh: false; why: string };

/**
 * The digest a stamp is compared against: the sources files' contents, sorted, so the files
 * handed to the bootstrap and their copies in the root (other names, same text) agree.
 */
export async function digestSources(files: readonly string[]): Promise<string> {
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8').then((t) => t.trim())));
  return createHash('sha256').update(JSON.stringify(texts.sort())).digest('hex');
}

export async function checkListsFreshness(
  stampFile: string,
  sources: string,
  maxAgeSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<ListsFreshness> {
  if (maxAgeSeconds <= 0) return { fresh: false, why: 'refresh asked for' };
  let stamp: ListsStamp;
  try {
    stamp = JSON.parse(await readFile(stampFile, 'utf8')) as ListsStamp;
  } catch {
    return { fresh: false, why: 'no package lists fetched yet' };
  }
  if (stamp.sources !== sources) return { fresh: false, why: 'the sources changed' };
  const ageSeconds = nowSeconds - stamp.refreshedAt;
  if (ageSeconds < 0 || ageSeconds >= maxAgeSeconds)
    return { fresh: false, why: `lists are ${formatAge(ageSeconds)} old (max ${formatAge(maxAgeSeconds)})` };
  return { fresh: true, ageSeconds };
}

export async function stampLists(
  stampFile: string,
  sources: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<void> {
  await mkdir(dirname(stampFile), { recursive: true });
  const stamp: ListsStamp = { refreshedAt: nowSeconds, sources };
  await writeFile(stampFile, JSON.stringify(stamp) + '\n');
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}
