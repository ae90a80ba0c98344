import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DPKG_STATUS, parseStanzas } from '../inventory/dpkg-status.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { resolveInRoot } from '../rootfs/root-path.js';
import { writeRootFile } from '../rootfs/write-in-root.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

const DPKG_INFO = '/var/lib/dpkg/info';
export const KERNEL_PINS = '/etc/apt/preferences.d/isobuild-kernel';

/**
 * The relations dpkg and apt hold an installed package to: one unmet makes the whole database
 * broken (`apt-get check` fails, and every later `apt-get install` asks for --fix-broken,
 * which would pull the tail kernel_install: files leaves out). Recommends and Suggests never do.
 */
const CHECKED_RELATIONS = new Set(['depends', 'pre-depends']);

/** A .deb whose files were merged into the root, and the paths it holds (listPackageTree). */
export interface MergedDeb {
  deb: string;
  paths: readonly string[];
}

export interface RecordOptions {
  tmpDir: string;
  run: Runner;
  /** mtime of the files written (SOURCE_DATE_EPOCH), so two builds give the same bytes. */
  epoch?: number;
}

/**
 * kernel_install: files: the kernel packages whose files were merged into the root are recorded
 * in its dpkg database as installed, so later package operations (a Dockerfile FROM the
 * exported image, staging) see them instead of installing them again with their tail. Only
 * the database is written: a status entry, the file list and md5sums, as dpkg would after
 * unpacking; the maintainer scripts never run. A Depends clause nothing in the root meets is
 * left out of the entry, so the database stays consistent. Returns the names recorded, or
 * undefined when the root has no dpkg database (an RPM root).
 */
export async function recordKernelDebs(
  root: string,
  debs: readonly MergedDeb[],
  o: RecordOptions,
): Promise<string[] | undefined> {
  const statusPath = await resolveInRoot(root, DPKG_STATUS, false);
  let status = await readFile(statusPath, 'utf8').catch(() => undefined);
  if (status === undefined || !debs.length) return undefined;
  const controls = [];
  for (const d of debs) controls.push({ ...d, ...(await readControlArea(d.deb, o)) });
  // Recorded together: a metapackage's Depends on its kernel is met by the kernel recorded beside it.
  const present = presentPackages([status, ...controls.map((c) => c.control)].join('\n\n'));
  const names: string[] = [];
  for (const c of controls) {
    const fields = parseStanzas(c.control)[0];
    const name = fields?.get('package');
    if (!fields || !name) continue;
    const infoName = fields.get('multi-arch') === 'same' ? `${name}:${fields.get('architecture')}` : name;
    const conffiles = [];
    for (const path of c.conffiles)
      conffiles.push({ path, md5: await md5Of(await resolveInRoot(root, path)) });
    status = replaceStatusStanza(status, makeStatusStanza(c.control, present, conffiles));
    const info = (ext: string, text: string) =>
      writeRootFile(root, `${DPKG_INFO}/${infoName}.${ext}`, text, 0o644, o.epoch ?? 0);
    await info('list', makeFileList(c.paths));
    // dpkg --audit asks for an md5sums file; dpkg makes one when a package ships none.
    await info('md5sums', c.md5sums ?? (await computeMd5sums(root, c.paths, c.conffiles)));
    if (c.conffiles.length) await info('conffiles', c.conffiles.join('\n') + '\n');
    names.push(name);
  }
  await writeRootFile(root, DPKG_STATUS, status, 0o644, o.epoch ?? 0);
  if (names.length) await writeRootFile(root, KERNEL_PINS, makeKernelPins(names), 0o644, o.epoch ?? 0);
  return names;
}

/**
 * apt_preferences(5) that keep the recorded entries apt's candidates. apt tells versions apart
 * by their relations too: a kernel recorded without its tail is, to apt, another 6.1.x-y than
 * the one in the package lists, and the lists' one (priority 500 against the installed 100)
 * would be installed over it, tail and all, by `apt-get install linux-image-...` or
 * dist-upgrade. Pinned higher, the recorded entry stays: the kernel is the image's, and a new
 * one comes with a new image.
 */
export function makeKernelPins(names: readonly string[]): string {
  return names
    .map((name) =>
      [
        `Explanation: kernel_install: files (isobuild): ${name} is recorded without its scripts and dependency tail`,
        `Package: ${name}`,
        'Pin: release a=now',
        'Pin-Priority: 600',
        '',
      ].join('\n'),
    )
    .join('\n');
}

/** The package's control, md5sums and conffiles, from `dpkg-deb -e`. */
async function readControlArea(
  deb: string,
  o: RecordOptions,
): Promise<{ control: string; md5sums?: string; conffiles: string[] }> {
  const dir = await mkdtemp(join(o.tmpDir, 'deb-control-'));
  try {
    await o.run('dpkg-deb', ['-e', deb, join(dir, 'DEBIAN')]);
    const read = (name: string) => readFile(join(dir, 'DEBIAN', name), 'utf8').catch(() => undefined);
    const conffiles = ((await read('conffiles')) ?? '')
      .split('\n')
      .map((l) => l.trim())
      // "remove-on-upgrade /path" lines are instructions, not files the package ships.
      .filter((l) => l.startsWith('/'));
    return { control: (await read('control')) ?? '', md5sums: await read('md5sums'), conffiles };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Names a root's dpkg status lists as installed, and the virtual names they provide. */
export function presentPackages(status: string): Set<string> {
  const out = new Set<string>();
  for (const f of parseStanzas(status)) {
    const state = f.get('status');
    // A control file (no Status) is one being recorded now.
    if (state !== undefined && state.split(/\s+/)[2] !== 'installed') continue;
    const name = f.get('package');
    if (name) out.add(name);
    for (const p of (f.get('provides') ?? '').split(',')) {
      const provided = relationName(p);
      if (provided) out.add(provided);
    }
  }
  return out;
}

/** "name:any (>= 1)" gives name. */
function relationName(alternative: string): string | undefined {
  return alternative.trim().split(/[\s(:]/)[0] || undefined;
}

/**
 * A package's control stanza made into its dpkg status entry: `Status: install ok installed`
 * after Package, Conffiles with their md5sums, and only the Depends and Pre-Depends clauses
 * one of whose alternatives is `present`. Names only, not versions: the root and the kernel
 * come from the same package lists in the same build.
 */
export function makeStatusStanza(
  control: string,
  present: ReadonlySet<string>,
  conffiles: readonly { path: string; md5: string }[] = [],
): string {
  const out: string[] = [];
  for (const field of splitFields(control)) {
    const key = field.name.toLowerCase();
    if (key === 'status' || key === 'conffiles') continue;
    if (key === 'description' && conffiles.length)
      out.push(['Conffiles:', ...conffiles.map((c) => ` ${c.path} ${c.md5}`)].join('\n'));
    if (CHECKED_RELATIONS.has(key)) {
      const kept = field.value
        .split(',')
        .map((clause) => clause.trim())
        .filter((clause) => clause.split('|').some((alt) => present.has(relationName(alt) ?? '')));
      if (kept.length) out.push(`${field.name}: ${kept.join(', ')}`);
      continue;
    }
    out.push(field.text);
    if (key === 'package') out.push('Status: install ok installed');
  }
  return out.join('\n') + '\n';
}

/** The fields of one deb822 stanza, each with its continuation lines. */
function splitFields(stanza: string): { name: string; value: string; text: string }[] {
  const fields: { name: string; value: string; text: string }[] = [];
  for (const line of stanza.split('\n')) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    const last = fields[fields.length - 1];
    if (m) fields.push({ name: m[1]!, value: m[2]!.trim(), text: line });
    else if (last && /^\s/.test(line) && line.trim()) {
      last.text += `\n${line}`;
      last.value += ` ${line.trim()}`;
    }
  }
  return fields;
}

/** The status file with `stanza` in place of any entry for the same package and architecture. */
export function replaceStatusStanza(status: string, stanza: string): string {
  const idOf = (text: string) => {
    const f = parseStanzas(text)[0];
    return `${f?.get('package')}:${f?.get('architecture')}`;
  };
  const id = idOf(stanza);
  const kept = status
    .split(/\n\s*\n/)
    .map((block) => block.replace(/^\n+|\n+$/g, ''))
    .filter((block) => block && idOf(block) !== id);
  return [...kept, stanza.trimEnd()].join('\n\n') + '\n';
}

/** A dpkg file list (info/<pkg>.list): "/." and every path the package holds, folders included. */
export function makeFileList(paths: readonly string[]): string {
  return ['/.', ...paths].join('\n') + '\n';
}

/**
 * Every entry of an unpacked package folder as an absolute path in the package, parents
 * before children: read before the merge, which moves the files out.
 */
export async function listPackageTree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const path = `${rel}/${name}`;
    out.push(path);
    if ((await lstat(join(dir, path))).isDirectory()) out.push(...(await listPackageTree(dir, path)));
  }
  return out;
}

/** md5sums as dpkg writes them: "<md5>  <path without leading slash>" for each regular file but conffiles. */
async function computeMd5sums(
  root: string,
  paths: readonly string[],
  conffiles: readonly string[],
): Promise<string> {
  const lines: string[] = [];
  for (const path of paths) {
    if (conffiles.includes(path)) continue;
    const host = await resolveInRoot(root, path, false);
    if ((await lstat(host)).isFile()) lines.push(`${await md5Of(host)}  ${path.slice(1)}`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

async function md5Of(path: string): Promise<string> {
  return createHash('md5')
    .update(await readFile(path))
    .digest('hex');
}

/**
 * dpkg rewrites its whole status file, sorted and in its own field order, whenever it runs: the
 * entries recordKernelDebs wrote (the names its pins file lists) go back to the end of it as
 * they were, so a root apt-get added packages to later reads as one whose kernel was recorded
 * last, like a root set up with those packages from the start. `before` is the status file
 * before apt-get ran. Returns why that cannot be done (dpkg changed a recorded entry), or undefined.
 */
export async function keepRecordedLast(root: string, before: string, epoch = 0): Promise<string | undefined> {
  const pins = await readFile(await resolveInRoot(root, KERNEL_PINS, false), 'utf8').catch(() => '');
  const names = new Set([...pins.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]!));
  if (!names.size) return undefined;
  const statusPath = await resolveInRoot(root, DPKG_STATUS, false);
  const after = await readFile(statusPath, 'utf8');
  const recorded = statusBlocks(before).filter((b) => names.has(b.name));
  const now = statusBlocks(after);
  for (const r of recorded) {
    const same = now.find((b) => b.name === r.name && b.arch === r.arch);
    if (!same || fieldsOf(same.text) !== fieldsOf(r.text))
      return `dpkg changed the recorded entry of ${r.name} (kernel_install: files)`;
  }
  const kept = now.filter((b) => !names.has(b.name)).map((b) => b.text);
  await writeRootFile(
    root,
    DPKG_STATUS,
    [...kept, ...recorded.map((b) => b.text)].join('\n\n') + '\n',
    0o644,
    epoch,
  );
  return undefined;
}

/** The status file's entries, each with its exact text, as replaceStatusStanza splits them. */
function statusBlocks(status: string): { name: string; arch: string; text: string }[] {
  return status
    .split(/\n\s*\n/)
    .map((block) => block.replace(/^\n+|\n+$/g, ''))
    .filter(Boolean)
    .map((text) => {
      const f = parseStanzas(text)[0];
      return { name: f?.get('package') ?? '', arch: f?.get('architecture') ?? '', text };
    });
}

/** An entry's fields in a fixed order: the same entry in dpkg's field order or in the control file's. */
function fieldsOf(text: string): string {
  return JSON.stringify(
    splitFields(text)
      .map((f) => [f.name.toLowerCase(), f.value])
      .sort(),
  );
}
