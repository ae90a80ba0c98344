import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { SHIPPED_REPOS } from './shipped-repos.js';
import { formatDiagnostic, SpecError, UsageError, type Diagnostic } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { parseSpecText, showPath, type SpecDocument } from './document.js';
import { findLongStrings, limitDiagnostic, SPEC_LIMITS } from './limits.js';
import { readDriversArray } from './drivers-array.js';
import { scanRepoFolder, SPEC_FILE_NAMES, type FolderContents } from './folder.js';
import { deepFreeze, normaliseSpec, type SpecOverrides } from './normalise.js';
import { resolveExtends } from './extends.js';
import { applyRules, checkHooksParse, checkInitDrivers, type Finding } from './rules.js';
import { resolveRelease } from './release.js';
import { specPackageManager } from './package-managers.js';
import { checkSchema } from './schema.js';
import { findNearest } from './suggest.js';
import type { RepoSpec, ResolvedSpec } from './types.js';
import type { DriverSite } from '../drivers/check.js';
import type { DriversArray } from './drivers-array.js';

/** Result of loading one repo folder: every problem collected, never thrown. */
export interface LoadResult {
  spec?: ResolvedSpec;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /** Where init.sh and the spec ask for each driver, for checks that need a kernel (with the spec). */
  driverSites?: DriverSite[];
}

/**
 * parse → schema → normalise → semantic rules → frozen ResolvedSpec. Problems are collected,
 * not thrown, so one run reports all of them (changesets' parse returns {config, errors, warnings}).
 */
export async function loadRepoFolder(repoDir: string, overrides: SpecOverrides = {}): Promise<LoadResult> {
  const dir = resolve(repoDir);
  const folderProblem = await checkIsFolder(dir);
  if (folderProblem) return { errors: [folderProblem], warnings: [] };

  const folder = await scanRepoFolder(dir);
  const findings: Finding[] = [];
  // The hooks are checked whatever state the spec is in: all problems in one run. Their bash -n
  // runs while the spec is read and checked (findings are sorted at the end).
  const hooksParsed = checkHooksParse(folder.hooks);
  // Awaited below; this only keeps a throw in between from leaving it unhandled.
  hooksParsed.catch(() => undefined);
  const initText = folder.hooks.init ? await readText(folder.hooks.init, findings) : undefined;
  const drivers = initText !== undefined ? readDriversArray(initText) : undefined;
  if (folder.hooks.init && drivers) findings.push(...checkInitDrivers(folder.hooks.init, drivers));

  const specFile = await pickSpecFile(dir, folder, findings);
  const specText =
    specFile && (await withinSize(specFile, findings)) ? await readText(specFile, findings) : undefined;
  let spec: ResolvedSpec | undefined;
  let driverSites: DriverSite[] = [];
  if (specFile && specText !== undefined) {
    const extended = await resolveExtends(parseSpecText(specFile, specText));
    const doc = extended.doc;
    findings.push(...extended.errors.map((diagnostic) => ({ severity: 'error' as const, diagnostic })));
    const raw = extended.errors.length ? undefined : checkDocument(doc, findings);
    if (raw) {
      const normalised = normaliseSpec(raw, dir, specFile, folder, drivers?.drivers ?? [], overrides);
      const draft = await withRelease(
        extended.extended ? { ...normalised, extended: extended.extended } : normalised,
        raw,
      );
      findings.push(...(await applyRules({ doc, raw, spec: draft, folder })));
      spec = draft;
      driverSites = [
        ...initDriverSites(folder.hooks.init, drivers),
        ...(raw.drivers ?? []).map((name, i) => {
          const pointer = `/drivers/${i}`;
          return { name, source: 'spec' as const, file: doc.shownAs, ...doc.positionOf(pointer), pointer };
        }),
      ];
    }
  }
  findings.push(...(await hooksParsed));
  const errors = sortDiagnostics(findings.filter((f) => f.severity === 'error').map((f) => f.diagnostic));
  const warnings = sortDiagnostics(findings.filter((f) => f.severity === 'warning').map((f) => f.diagnostic));
  return errors.length === 0 && spec
    ? { spec: deepFreeze(spec), errors, warnings, driverSites }
    : { errors, warnings };
}

/** Each word of init.sh's drivers array with where it starts. */
function initDriverSites(initFile: string | undefined, parsed: DriversArray | undefined): DriverSite[] {
  if (!initFile || !parsed) return [];
  const file = showPath(initFile);
  return parsed.drivers.map((name, i) => ({
    name,
    source: 'repo' as const,
    file,
    ...(parsed.positions[i] ?? { line: 1, col: 1 }),
    pointer: '',
  }));
}

/**
 * What the package manager takes from the host (an RPM repo without *.repo files uses the
 * host's, as VIC's ci repo did), then the release where the spec sets none.
 */
async function withRelease(spec: ResolvedSpec, raw: RepoSpec): Promise<ResolvedSpec> {
  const fromHost = (await specPackageManager(spec.packagemanager).fromHost?.(spec)) ?? {};
  const completed = { ...spec, ...fromHost };
  const { release, from } = await resolveRelease(completed, raw.release);
  return { ...completed, release, releaseFrom: from };
}

/** A file's text, or a finding saying why it cannot be read (a dangling symlink, permissions). */
async function readText(file: string, findings: Finding[]): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    findings.push({
      severity: 'error',
      diagnostic: {
        file: showPath(file),
        line: 1,
        col: 1,
        pointer: '',
        message: `cannot read the file (${code}): fix or remove it`,
        rule: 'parse',
      },
    });
    return undefined;
  }
}

/** A spec file larger than SPEC_LIMITS.fileBytes is refused before it is read. */
async function withinSize(file: string, findings: Finding[]): Promise<boolean> {
  const size = (await stat(file).catch(() => undefined))?.size ?? 0;
  if (size <= SPEC_LIMITS.fileBytes) return true;
  findings.push({
    severity: 'error',
    diagnostic: limitDiagnostic(
      showPath(file),
      { line: 1, col: 1 },
      '',
      `the file is ${size} bytes; a repo spec may be at most ${SPEC_LIMITS.fileBytes} (1 MiB)`,
    ),
  });
  return false;
}

async function checkIsFolder(dir: string): Promise<Diagnostic | undefined> {
  const problem = (message: string): Diagnostic => ({
    file: showPath(dir),
    line: 1,
    col: 1,
    pointer: '',
    message,
    rule: 'repo-folder',
  });
  try {
    if (!(await stat(dir)).isDirectory())
      return problem('not a folder: a repo is a folder holding repo-spec.json');
  } catch {
    return problem('no such folder');
  }
  return undefined;
}

/** single-spec-file: exactly one of repo-spec.json / .yaml / .yml. */
async function pickSpecFile(
  dir: string,
  folder: FolderContents,
  findings: Finding[],
): Promise<string | undefined> {
  const [first, second] = folder.specFiles;
  const at = (file: string, message: string): Finding => ({
    severity: 'error',
    diagnostic: { file: showPath(file), line: 1, col: 1, pointer: '', message, rule: 'single-spec-file' },
  });
  if (first === undefined) {
    findings.push(
      at(
        join(dir, SPEC_FILE_NAMES[0]),
        `no ${SPEC_FILE_NAMES.slice(0, -1).join(', ')} or ${SPEC_FILE_NAMES.at(-1)} in the repo folder: add one (see docs/spec.md)`,
      ),
    );
    return undefined;
  }
  if (second !== undefined) {
    const names = folder.specFiles.map((f) => basename(f)).join(' and ');
    findings.push(at(second, `${names} are both present: keep one spec file and delete the other`));
    return undefined;
  }
  return first;
}

/** Parse and schema problems into `findings`; the document when it is schema-valid. */
function checkDocument(doc: SpecDocument, findings: Finding[]): RepoSpec | undefined {
  const add = (severity: Finding['severity']) => (diagnostic: Diagnostic) =>
    findings.push({ severity, diagnostic });
  doc.warnings.forEach(add('warning'));
  if (doc.errors.length > 0) {
    doc.errors.forEach(add('error'));
    return undefined;
  }
  if (doc.empty) {
    add('error')({
      file: doc.shownAs,
      line: 1,
      col: 1,
      pointer: '',
      message:
        'the file is empty: write a repo spec with at least name, packagemanager, kernel, init and packages',
      rule: 'parse',
    });
    return undefined;
  }
  const long = findLongStrings(doc.value);
  for (const pointer of long)
    add('error')(
      limitDiagnostic(
        doc.shownAs,
        doc.positionOf(pointer),
        pointer,
        `longer than ${SPEC_LIMITS.stringChars} characters: no spec value needs that much`,
      ),
    );
  if (long.length) return undefined;
  const schemaErrors = checkSchema(doc);
  schemaErrors.forEach(add('error'));
  return schemaErrors.length === 0 ? (doc.value as RepoSpec) : undefined;
}

function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.message.localeCompare(b.message),
  );
}

/** The repo folders under the repos folder (every visible subfolder, sorted by name). */
export async function listRepoFolders(reposDir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(reposDir, { withFileTypes: true });
  } catch {
    throw new UsageError(`repos folder not found: ${showPath(reposDir)} (use --repos DIR or ISOBUILD_REPOS)`);
  }
  return entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort()
    .map((n) => join(reposDir, n));
}

export { SHIPPED_REPOS } from './shipped-repos.js';

/**
 * A REPO argument: a name under the repos folder, else a path to a repo folder.
 * Returns the folder's absolute path. When the repos folder is the shipped fallback, a folder
 * of that name in the current directory wins: the user's own repo is the one they mean.
 */
export async function locateRepo(ref: string, reposDir: string): Promise<string> {
  const isFolder = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
  const looksLikePath = isAbsolute(ref) || ref.includes('/') || ref.startsWith('.');
  if (resolve(reposDir) === SHIPPED_REPOS && (await isFolder(ref))) return resolve(ref);
  if (!looksLikePath && (await isFolder(join(reposDir, ref)))) return resolve(reposDir, ref);
  if (await isFolder(ref)) return resolve(ref);
  if (looksLikePath) throw new UsageError(`repo folder not found: ${ref}`);
  const known = (await listRepoFolders(reposDir).catch(() => [])).map((p) => basename(p));
  const near = findNearest(ref, known);
  throw new UsageError(
    `no repo "${ref}" in ${showPath(reposDir)}` +
      (near ? ` (did you mean "${near}"?)` : known.length ? ` (repos: ${known.join(', ')})` : ''),
  );
}

/** Load a repo or throw a SpecError carrying every diagnostic; warnings go to the logger. */
export async function loadRepo(ref: string, reposDir: string, logger?: Logger): Promise<ResolvedSpec> {
  const result = await loadRepoFolder(await locateRepo(ref, reposDir));
  for (const w of result.warnings) logger?.warn(formatDiagnostic(w));
  if (!result.spec) throw new SpecError(result.errors);
  return result.spec;
}
