import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileWhole } from '../fs/replace-file.js';

/**
 * When the package lists in the package cache were last fetched, for each set of sources (the
 * cache is shared by every repo, and repos may name other sources). A build whose lists are
 * younger than the spec's package_lists_max_age (or --lists-max-age) and were fetched for the
 * same sources asks no mirror for them (mkosi's CacheOnly=metadata idea); --refresh makes the age 0.
 */
export interface ListsStamp {
  /** Unix seconds of the last fetch, by the digest of the sources (digestSources). */
  bySources: Record<string, number>;
}

/** A stamp file's fetches; {} when there is none. The one-sources form of older isobuilds is read too. */
async function readStamp(stampFile: string): Promise<Record<string, number> | undefined> {
  let parsed: Partial<ListsStamp> & { refreshedAt?: number; sources?: string };
  try {
    parsed = JSON.parse(await readFile(stampFile, 'utf8')) as typeof parsed;
  } catch {
    return undefined;
  }
  if (parsed.bySources) return parsed.bySources;
  return parsed.sources && parsed.refreshedAt !== undefined ? { [parsed.sources]: parsed.refreshedAt } : {};
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
  const stamp = await readStamp(stampFile);
  if (!stamp) return { fresh: false, why: 'no package lists fetched yet' };
  const refreshedAt = stamp[sources];
  if (refreshedAt === undefined)
    return { fresh: false, why: 'no package lists fetched for these sources yet' };
  const ageSeconds = nowSeconds - refreshedAt;
  if (ageSeconds < 0 || ageSeconds >= maxAgeSeconds)
    return { fresh: false, why: `lists are ${formatAge(ageSeconds)} old (max ${formatAge(maxAgeSeconds)})` };
  return { fresh: true, ageSeconds };
}

export async function stampLists(
  stampFile: string,
  sources: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<void> {
  const stamp: ListsStamp = { bySources: { ...(await readStamp(stampFile)), [sources]: nowSeconds } };
  // Whole: a reader (plan, another tool) never sees half a stamp.
  await writeFileWhole(stampFile, JSON.stringify(stamp) + '\n', { mkdir: true });
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}
