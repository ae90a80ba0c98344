import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { cacheLayout, lookupEntry, type CacheLayout } from '../cache/cache.js';
import { writeFileWhole } from '../fs/replace-file.js';
import { readManifestOf } from '../inventory/diff-text.js';
import type { Manifest } from '../inventory/manifest.js';
import { readDebianLicences } from '../report/licences.js';
import { readDpkgFileOwners } from '../report/package-files.js';
import { renderReportHtml } from '../report/render-html.js';
import { makeReportData } from '../report/report-data.js';
import { readRunRecord } from '../report/run-record.js';
import { parseStageLog } from '../report/stage-log.js';
import type { BudgetRow, StageSpan } from '../report/types.js';
import { defaultCacheRoot } from '../pipeline/build-options.js';

export interface ReportRequest {
  /** An output isobuild wrote (ISO, kernel+initrd folder...) or its manifest. */
  output: string;
  /** Where the HTML goes. Default: `<output>.report.html`. */
  file?: string;
  /** Another output to compare with (`--against`): its packages and files against this one's. */
  against?: string;
  /** The stage cache whose roots and logs the report reads. Default: ISOBUILD_CACHE, else .isobuild. */
  cacheRoot?: string;
  /** Limits to mark (the spec's budgets, once something checks them). */
  budgets?: readonly BudgetRow[];
}

/** Who owns each file and each package's licences: from the root the manifest's packages were read from. */
async function readPackageRoot(
  layout: CacheLayout,
  m: Manifest,
  notes: string[],
): Promise<{ owners?: Map<string, string>; licences?: Map<string, string[]> }> {
  const stage = m.stages.find((s) => s.name === m.packagesFrom);
  const entry = stage && (await lookupEntry(layout, m.repo, stage.name, stage.key));
  if (!entry) {
    notes.push(
      `the ${m.packagesFrom ?? 'package'} root of this build is not in the cache ${layout.root}: files are not attributed to packages`,
    );
    return {};
  }
  const owners = await readDpkgFileOwners(entry.rootfs);
  if (!owners) {
    notes.push(
      `no dpkg database in the ${stage!.name} root: files are not attributed to packages (RPM roots: not yet)`,
    );
    return {};
  }
  // Copyright files: the staged root may have lost them (a clean step), an earlier one still has them.
  const roots: string[] = [];
  for (const s of m.stages.slice(0, m.stages.indexOf(stage!) + 1).reverse()) {
    const e = await lookupEntry(layout, m.repo, s.name, s.key);
    if (e) roots.push(e.rootfs);
  }
  const licences = new Map<string, string[]>();
  for (const p of m.packages) {
    for (const root of roots) {
      const found = await readDebianLicences(root, p.name);
      if (found) {
        licences.set(p.name, found);
        break;
      }
    }
  }
  return { owners, licences };
}

/** Each stage of the build: what the last build of this output did with it, and its log's commands. */
async function readStages(layout: CacheLayout, m: Manifest, notes: string[]): Promise<StageSpan[]> {
  const last = m.stages.at(-1);
  const run = last && (await readRunRecord(layout, m.repo, last.key));
  if (!run) notes.push('no record of the build that wrote this output in this cache: stage statuses unknown');
  const spans: StageSpan[] = [];
  for (const s of m.stages) {
    const outcome = run?.stages.find((o) => o.stage === s.name && o.key === s.key);
    const entry = await lookupEntry(layout, m.repo, s.name, s.key);
    const log = entry && (await readFile(resolve(entry.dir, 'stage.log'), 'utf8').catch(() => undefined));
    const times = log === undefined ? undefined : parseStageLog(log);
    spans.push({
      stage: s.name,
      key: s.key,
      status: outcome?.status ?? 'unknown',
      seconds: outcome?.seconds ?? times?.seconds ?? 0,
      ...(times ? { builtSeconds: times.seconds } : {}),
      commands: times?.commands ?? [],
    });
  }
  return spans;
}

/**
 * `isobuild report`: one self-contained HTML file about an output: where its bytes go (a
 * treemap by owner), where its build's time went (stages and commands), what it contains (the
 * SBOM's packages) and, with `against`, what changed. Returns the file written.
 */
export async function writeReport(request: ReportRequest): Promise<string> {
  const output = resolve(request.output);
  const manifest = await readManifestOf(output);
  const against = request.against ? await readManifestOf(resolve(request.against)) : undefined;
  const layout = cacheLayout(resolve(request.cacheRoot ?? defaultCacheRoot()));
  const notes: string[] = [];
  const { owners, licences } = await readPackageRoot(layout, manifest, notes);
  const stages = await readStages(layout, manifest, notes);
  const data = makeReportData({
    manifest,
    ...(owners ? { dpkgOwners: owners } : {}),
    ...(licences ? { licences } : {}),
    stages,
    ...(against ? { against } : {}),
    ...(request.budgets ? { budgets: request.budgets } : {}),
    notes,
  });
  const file = resolve(
    request.file ?? `${output.replace(/\.manifest\.json$/, '').replace(/\/+$/, '')}.report.html`,
  );
  await writeFileWhole(file, renderReportHtml(data));
  return file;
}
