import { basename, relative, resolve } from 'node:path';
import { canonicalKey } from '../cache/output-digest.js';
import { VERSION } from '../version.js';
import { hashPath, sha256 } from '../fs/hash.js';
import type { BuildPlan, CacheInputs, KeyContext, Stage, StageInputs, StageLink } from '../stage/types.js';
import { cacheLayout } from '../cache/cache.js';
import type { StageInputsRecord } from '../cache/cache-integrity.js';
import { declaredHostFiles, declaredToolVersions } from '../stage/commands.js';

/** The plan's stages with their keys and what each key was computed from, in pipeline order. */
export interface LinkedStages {
  readonly links: StageLink[];
  readonly inputs: CacheInputs[];
  readonly records: StageInputsRecord[];
  /** The inputs each stage's run gets. */
  readonly values: StageInputs[];
}

/**
 * What a stage's key is made of: its inputs (with the facts its sources found), its files and
 * the host files it declares, and the versions of the commands it declares.
 */
export async function keyInputsOf(
  stage: Stage,
  inputs: StageInputs,
  where: KeyContext,
): Promise<CacheInputs> {
  const commands = stage.commands(inputs);
  const [sources, hostFiles, toolVersions] = await Promise.all([
    stage.sources(inputs, where),
    declaredHostFiles(commands),
    declaredToolVersions(commands),
  ]);
  return {
    values: sources.facts ? { ...inputs, facts: sources.facts } : inputs,
    files: [...new Set([...sources.files, ...hostFiles])],
    toolVersions,
  };
}

/** Where the plan's stages read facts outside the spec: its cache's package cache. */
export function keyContextOf(plan: BuildPlan): KeyContext {
  return { pkgCacheDir: cacheLayout(plan.options.cacheRoot).packagesFor(plan.spec.arch) };
}

/**
 * Every stage's key, in order: each depends on its inputs and its parent's canonical key only:
 * the first key whose entry had the same output as the parent's (early cutoff: the cache
 * records it, src/cache/output-digest.ts), else the parent's key. The one place that asks a
 * stage for its inputs; the build and `plan --explain` both call it, and the build again once a
 * stage it built turned out to have an earlier entry's output.
 */
export async function linkStages(plan: BuildPlan): Promise<LinkedStages> {
  const cacheRoot = resolve(plan.options.cacheRoot);
  const links: StageLink[] = [];
  const inputs: CacheInputs[] = [];
  const records: StageInputsRecord[] = [];
  const values: StageInputs[] = [];
  for (const stage of plan.stages) {
    const parent = links.at(-1);
    const parentKey = parent && (await canonicalKey(cacheRoot, parent.stage, parent.key));
    const stageValues = stage.inputs(plan);
    const stageInputs = await keyInputsOf(stage, stageValues, keyContextOf(plan));
    const record = await recordInputs(stage, plan, parentKey, stageInputs);
    links.push({ stage: stage.name, key: stageKey(stage, record), parentKey });
    inputs.push(stageInputs);
    records.push(record);
    values.push(stageValues);
  }
  return { links, inputs, records, values };
}

/** A file's label in keys and records: relative to the repo folder, so another checkout gets the same key. */
export function inputLabel(plan: BuildPlan, file: string): string {
  return file.startsWith(plan.spec.repoDir) ? relative(plan.spec.repoDir, file) : basename(file);
}

/**
 * A stage's values as keys and records hold them: paths into the repo folder count relative to
 * it, so the same repo in another checkout gets the same key.
 */
function keyedValues(plan: BuildPlan, values: unknown): string {
  const repoDir = plan.spec.repoDir;
  return JSON.stringify(values ?? null, (_, v: unknown) =>
    typeof v === 'string' && (v === repoDir || v.startsWith(`${repoDir}/`)) ? `./${relative(repoDir, v)}` : v,
  );
}

/** Everything that can change a stage's result, hashed: its name and its inputs' record. */
export function stageKey(stage: Stage, record: StageInputsRecord): string {
  return sha256()
    .update(JSON.stringify({ stage: stage.name, ...record }))
    .digest('hex')
    .slice(0, 24);
}

/**
 * The inputs with a digest per file: what the key hashes, and what the entry's manifest records
 * for `plan --explain` and `isobuild diff`. Each file is read once.
 */
async function recordInputs(
  stage: Stage,
  plan: BuildPlan,
  parentKey: string | undefined,
  inputs: CacheInputs,
): Promise<StageInputsRecord> {
  const files: Record<string, string> = {};
  for (const file of [...inputs.files].sort()) {
    // Files outside the repo are labelled by name: two of one name must not hide each other.
    let label = inputLabel(plan, file);
    for (let n = 2; label in files; n++) label = `${inputLabel(plan, file)}#${n}`;
    const hash = sha256();
    await hashPath(hash, file, label);
    files[label] = hash.digest('hex');
  }
  return {
    isobuild: VERSION,
    version: stage.version,
    parentKey: parentKey ?? null,
    sourceDateEpoch: plan.options.sourceDateEpoch,
    // A plain JSON copy: what the key hashed (undefined members dropped), safe to store.
    values: JSON.parse(keyedValues(plan, inputs.values)) as unknown,
    files,
    toolVersions: inputs.toolVersions,
  };
}
