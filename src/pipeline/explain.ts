import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { firstDifferingStage } from '../inventory/diff.js';
import type { StageRecord } from '../inventory/manifest.js';
import { readManifest } from '../cache/cache-integrity.js';
import { entryKeyOf, lookupEntry, madeByNote, otherMaker, type CacheLayout } from '../cache/cache.js';
import { canonicalKey } from '../cache/output-digest.js';
import { linkStages, type LinkedStages } from './stage-keys.js';
import { findGrowBase } from './grow-base.js';
import { describeGrowth } from '../stage/growth.js';
import type { StageInputsRecord } from '../cache/cache-integrity.js';
import type { BuildPlan, StageName } from '../stage/types.js';

/**
 * `isobuild plan --explain`: for each stage, its key and whether the cache has it; for one it
 * does not, what changed since the stage's newest entry for this repo ("staging.sh changed",
 * "its parent (minimise) rebuilds"). Reads the cache, writes nothing.
 */
export interface StageExplanation {
  readonly stage: StageName;
  /** The digest of the stage's inputs and its parent's key: its cache entry's name. */
  readonly key: string;
  /**
   * cached: the entry exists; not-needed: not cached, but a later stage is (the build starts
   * after it); rebuild: the build runs it.
   */
  readonly status: 'cached' | 'not-needed' | 'rebuild';
  /** Why it rebuilds, in words; [] unless status is rebuild. */
  readonly reasons: readonly string[];
  /** The key of the entry it was compared with: the stage's newest (last used) one for this repo. */
  readonly comparedWith?: string;
  /** For a cached stage whose entry another repo's build made: that repo (entries are shared by key). */
  readonly madeBy?: string;
  /**
   * For a rebuild of a stage that can grow a cached entry (iso-base): how the build will make it,
   * "incremental from 7240ef9e (+less)" or "full build (no incremental root: ...)".
   */
  readonly growth?: string;
  /**
   * For a cached stage whose output is an earlier entry's (early cutoff): that entry's key, on
   * which later stages are keyed, so that they are reused.
   */
  readonly sameOutputAs?: string;
}

export async function explainPlan(
  plan: BuildPlan,
  layout: CacheLayout,
  linked?: Pick<LinkedStages, 'links' | 'records'>,
  /** growth: false when the caller finds the grow base itself (the build does). */
  { growth: withGrowth = true } = {},
): Promise<StageExplanation[]> {
  const repo = plan.spec.name;
  const { links, records } = linked ?? (await linkStages(plan));
  const cached = await Promise.all(links.map((l) => lookupEntry(layout, repo, l.stage, l.key)));
  const deepest = cached.findLastIndex((e) => e !== undefined);
  const out: StageExplanation[] = [];
  for (const [i, link] of links.entries()) {
    const entry = cached[i];
    if (entry) {
      const maker = otherMaker(entry, repo);
      const first = await canonicalKey(layout.root, link.stage, link.key);
      out.push({
        stage: link.stage,
        key: link.key,
        status: 'cached',
        reasons: [],
        ...(maker ? { madeBy: maker } : {}),
        ...(first !== link.key ? { sameOutputAs: first } : {}),
      });
      continue;
    }
    if (i < deepest) {
      out.push({ stage: link.stage, key: link.key, status: 'not-needed', reasons: [] });
      continue;
    }
    const newest = await newestEntry(layout, repo, link.stage, link.key, records[i]!);
    const parent = i > 0 ? out[i - 1] : undefined;
    const reasons = !newest
      ? ['the cache has no entry of this stage for this repo']
      : !newest.inputs
        ? ['inputs unknown (entry from an older isobuild)']
        : changedInputs(link.stage, newest.inputs, records[i]!, parent);
    const stage = plan.stages[i];
    const grow =
      stage && withGrowth && !plan.options.noCache
        ? await findGrowBase(layout, stage, link.key, records[i]!)
        : undefined;
    const growth = !grow
      ? undefined
      : 'base' in grow
        ? describeGrowth(grow.base)
        : `full build (no incremental root: ${grow.refused})`;
    out.push({
      stage: link.stage,
      key: link.key,
      status: 'rebuild',
      reasons: reasons.length ? reasons : ['its entry is damaged or incomplete'],
      ...(newest ? { comparedWith: newest.key } : {}),
      ...(growth ? { growth } : {}),
    });
  }
  return out;
}

/** One line per explanation: "staging: rebuild, because staging.sh changed". */
export function formatExplanation(e: StageExplanation): string {
  if (e.status === 'cached')
    return `${e.stage}: cached${madeByNote(e.madeBy)}${sameOutputNote(e.sameOutputAs)}`;
  if (e.status === 'not-needed') return `${e.stage}: not cached, not needed (a later stage is cached)`;
  return `${e.stage}: rebuild, because ${e.reasons.join('; ')}${e.growth ? `; ${e.growth}` : ''}`;
}

/** Early cutoff, as the build's "built" line and `plan --explain` say it. */
export function sameOutputNote(first: string | undefined, reused = true): string {
  if (first === undefined) return '';
  const later = reused ? 'later stages reused' : 'later stages keyed on it';
  return ` (inputs changed but output identical to ${first.slice(0, 8)}'s: ${later})`;
}

/** What differs between the entry's inputs and this plan's, in words (the differ is `isobuild diff`'s). */
function changedInputs(
  stage: StageName,
  was: StageInputsRecord,
  now: StageInputsRecord,
  parent: StageExplanation | undefined,
): string[] {
  const asRecord = (r: StageInputsRecord, key: string): StageRecord => ({
    name: stage,
    key,
    values: r.values,
    files: r.files,
    toolVersions: r.toolVersions,
  });
  const d = firstDifferingStage([asRecord(was, 'was')], [asRecord(now, 'now')])!;
  const was_ = (was.values ?? {}) as Record<string, unknown>;
  const now_ = (now.values ?? {}) as Record<string, unknown>;
  const reasons = [
    ...d.values.flatMap((v) => describeValueChange(v, was_[v], now_[v])),
    ...d.files.map((f) =>
      !(f in now.files) ? `${f} is no longer an input` : !(f in was.files) ? `${f} is new` : `${f} changed`,
    ),
  ];
  if (d.toolVersions)
    reasons.push(`tool versions changed (${changedTools(was.toolVersions, now.toolVersions)})`);
  if (was.version !== now.version)
    reasons.push(`the stage's code changed (version ${was.version} → ${now.version})`);
  if (was.isobuild !== now.isobuild) reasons.push(`isobuild changed (${was.isobuild} → ${now.isobuild})`);
  if (was.sourceDateEpoch !== now.sourceDateEpoch)
    reasons.push(`SOURCE_DATE_EPOCH changed (${was.sourceDateEpoch} → ${now.sourceDateEpoch})`);
  if (parent && parent.status === 'rebuild') reasons.push(`its parent (${parent.stage}) rebuilds`);
  else if (parent && was.parentKey !== now.parentKey)
    reasons.push(`the entry compared with was built on another ${parent.stage} entry`);
  else if (!parent && was.parentKey !== now.parentKey) reasons.push('its parent stage changed');
  return reasons;
}

/**
 * What changed in one of a stage's values, as far down as it can be said in a few words:
 * `spec packages changed (+curl, -wget)`, `spec pm.release changed (bookworm → trixie)`,
 * `spec lock is new`. Objects are followed into the members that differ.
 */
export function describeValueChange(path: string, was: unknown, now: unknown, depth = 0): string[] {
  if (was === undefined) return [`spec ${path} is new`];
  if (now === undefined) return [`spec ${path} is no longer set`];
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isRecord(was) && isRecord(now) && depth < 3) {
    const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
    const changed = keys.filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
    return changed.flatMap((k) => describeValueChange(`${path}.${k}`, was[k], now[k], depth + 1));
  }
  const scalar = (v: unknown) => typeof v !== 'object' || v === null;
  if (Array.isArray(was) && Array.isArray(now) && [...was, ...now].every(scalar)) {
    const before = new Set(was.map(String));
    const after = new Set(now.map(String));
    const changes = [
      ...[...after].filter((x) => !before.has(x)).map((x) => `+${x}`),
      ...[...before].filter((x) => !after.has(x)).map((x) => `-${x}`),
    ];
    if (!changes.length) return [`spec ${path} changed (order)`];
    const shown = changes.slice(0, 6).join(', ') + (changes.length > 6 ? `, ${changes.length - 6} more` : '');
    return [`spec ${path} changed (${shown})`];
  }
  if (scalar(was) && scalar(now) && `${String(was)}${String(now)}`.length <= 60)
    return [`spec ${path} changed (${String(was)} → ${String(now)})`];
  return [`spec ${path} changed`];
}

/** The tools whose version lines differ, as now. */
function changedTools(was: readonly string[], now: readonly string[]): string {
  const before = new Set(was);
  const after = new Set(now);
  // "xorriso: xorriso 1.5.4 ..." names its tool before ": "; a bare version line ("BusyBox v1.35.0
  // (Debian ...)") by its first word.
  const tool = (line: string) => /^([^\s:]+): /.exec(line)?.[1] ?? line.split(/\s/)[0]!;
  const changed = [
    ...new Set([...now.filter((t) => !before.has(t)), ...was.filter((t) => !after.has(t))].map(tool)),
  ];
  return changed.join(', ');
}

/**
 * The stage's most recently used entry for this repo (the folder's mtime is its last use) and
 * the inputs its manifest records, if any. An entry of the same flavour comes first: `lock`
 * builds both flavours' staging, so the newest entry is often the other flavour's, and the
 * comparison would then only say "spec flavour changed" instead of what did (the lock).
 */
async function newestEntry(
  layout: CacheLayout,
  repo: string,
  stage: StageName,
  key: string,
  now: StageInputsRecord,
): Promise<{ key: string; inputs?: StageInputsRecord } | undefined> {
  const dir = layout.stages(repo);
  const names = await readdir(dir).catch(() => [] as string[]);
  const found: { key: string; mtime: number }[] = [];
  for (const name of names) {
    const entryKey = entryKeyOf(name, stage);
    if (!entryKey || entryKey === key) continue;
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (st) found.push({ key: entryKey, mtime: st.mtimeMs });
  }
  // Only the entry with this very key is there, and unusable: compare with it.
  if (!found.length && names.includes(`${stage}-${key}`)) found.push({ key, mtime: 0 });
  found.sort((a, b) => b.mtime - a.mtime);
  const read = async (k: string) => {
    const manifest = await readManifest(join(dir, `${stage}-${k}`));
    return { key: k, ...(manifest?.inputs ? { inputs: manifest.inputs } : {}) };
  };
  const flavour = flavourOf(now);
  if (flavour !== undefined) {
    for (const f of found) {
      const entry = await read(f.key);
      if (entry.inputs && flavourOf(entry.inputs) === flavour) return entry;
    }
  }
  return found.length ? read(found[0]!.key) : undefined;
}

/** The flavour a stage's values name (staging reads it), if it reads one. */
function flavourOf(r: StageInputsRecord): unknown {
  const values = r.values as Record<string, unknown> | null | undefined;
  return values && typeof values === 'object' ? values.flavour : undefined;
}
