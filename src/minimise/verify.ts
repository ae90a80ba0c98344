import { readdir } from 'node:fs/promises';
import { hostPath, walkInRoot } from '../rootfs/root-path.js';
import { parseStrace } from './strace-parse.js';
import { interpretTrace } from './trace-events.js';
import type { WorkloadResult } from './tracer.js';

/**
 * Verification: every workload runs again in the minimised root and must print the same
 * stdout and stderr and exit with the same status as in the full root. When it does not,
 * the paths the second run looked for in vain (and that the full root has) say what to keep.
 */
export interface VerifyFailure {
  argv: readonly string[];
  differences: string[];
  /** In-root paths that came back ENOENT in the minimised root but exist in the full root. */
  missing: string[];
  /** Folders the workload listed that have fewer entries in the minimised root (list_dirs candidates). */
  shortListings: string[];
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const line = a.slice(0, i).split('\n').length;
  const show = (s: string) => JSON.stringify(s.slice(i, i + 80).split('\n')[0] ?? '');
  return `line ${line}: full root ${show(a)}, minimised root ${show(b)}`;
}

export function compareRuns(full: WorkloadResult, min: WorkloadResult): string[] {
  const diffs: string[] = [];
  if (full.exitCode !== min.exitCode) diffs.push(`exit status ${full.exitCode} became ${min.exitCode}`);
  if (full.stdout !== min.stdout) diffs.push(`stdout differs at ${firstDifference(full.stdout, min.stdout)}`);
  if (full.stderr !== min.stderr) diffs.push(`stderr differs at ${firstDifference(full.stderr, min.stderr)}`);
  return diffs;
}

async function countEntries(root: string, dir: string): Promise<number> {
  const r = await walkInRoot(root, dir);
  if (!r.stat?.isDirectory()) return 0;
  return (await readdir(hostPath(root, r.path)).catch(() => [])).length;
}

export async function checkRun(
  roots: { full: string; minimised: string },
  argv: readonly string[],
  full: WorkloadResult,
  min: WorkloadResult,
): Promise<VerifyFailure | undefined> {
  const differences = compareRuns(full, min);
  if (!differences.length) return undefined;
  const facts = interpretTrace(parseStrace(min.trace), min.chrootPath);
  const missing: string[] = [];
  for (const p of facts.missing) if ((await walkInRoot(roots.full, p)).stat) missing.push(p);
  const listed = [...new Set(facts.accesses.filter((a) => a.kind === 'list').map((a) => a.path))].sort();
  const shortListings: string[] = [];
  for (const d of listed)
    if ((await countEntries(roots.minimised, d)) < (await countEntries(roots.full, d))) shortListings.push(d);
  return { argv, differences, missing, shortListings };
}

export function formatFailures(failures: readonly VerifyFailure[]): string {
  const lines = ['verification failed: the minimised root does not behave like the full root'];
  for (const f of failures) {
    lines.push(`  workload ${JSON.stringify(f.argv)}:`);
    for (const d of f.differences) lines.push(`    ${d}`);
    if (f.missing.length) {
      lines.push('    paths it looked for that the full root has (add them to minimise.keep or list_dirs):');
      for (const m of f.missing.slice(0, 40)) lines.push(`      ${m}`);
      if (f.missing.length > 40) lines.push(`      ... and ${f.missing.length - 40} more`);
    }
    if (f.shortListings.length) {
      lines.push('    folders it listed that lost entries (add them to minimise.list_dirs):');
      for (const d of f.shortListings) lines.push(`      ${d}`);
    }
    if (!f.missing.length && !f.shortListings.length)
      lines.push('    no missing paths were seen: the output may not be deterministic');
  }
  return lines.join('\n');
}
