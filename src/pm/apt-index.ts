import { copyFile, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileWhole } from '../fs/replace-file.js';
import { parseStanzas } from '../inventory/dpkg-status.js';
import { packageKey, type SourceIndex, type SourcePackage } from '../inventory/types.js';
import { APT_CACHE_DIRS, makeAptEnv } from './apt-chroot.js';
import { aimedAptSources } from './apt-sources.js';
import { writeStandaloneAptConfig } from './apt-standalone.js';
import type { PmContext } from './types.js';

/** "Origin Codename" of a suite's (In)Release file. */
function releaseLabel(text: string): string {
  // InRelease is clearsigned: its first stanza is the PGP armour's "Hash:" header.
  const f = parseStanzas(text).find((s) => s.has('origin') || s.has('codename')) ?? new Map<string, string>();
  return [f.get('origin'), f.get('codename') ?? f.get('suite')].filter(Boolean).join(' ');
}

/** The fields of a Packages list the index needs, read line by line: the bookworm list is ~45 MB. */
const INDEX_FIELDS: Record<string, 'name' | 'version' | 'arch' | 'sha256' | 'filename'> = {
  'Package: ': 'name',
  'Version: ': 'version',
  'Architecture: ': 'arch',
  'SHA256: ': 'sha256',
  'Filename: ': 'filename',
};

/**
 * The stanzas of the packages named `names`, added as addPackages adds them. Each stanza starts
 * with its Package line, found with indexOf: a lookup of a root's ~100 packages reads the ~45 MB
 * list without splitting it into ~1.5 million lines (0.4 s of a build that added a package).
 */
function addNamedPackages(index: SourceIndex, text: string, label: string, names: ReadonlySet<string>): void {
  const next = (from: number) => {
    const i = text.indexOf('\nPackage: ', from);
    return i === -1 ? -1 : i + 1;
  };
  let at = text.startsWith('Package: ') ? 0 : next(0);
  while (at !== -1) {
    const lineEnd = text.indexOf('\n', at);
    const name = text.slice(at + 'Package: '.length, lineEnd === -1 ? undefined : lineEnd).trim();
    if (names.has(name)) {
      const end = text.indexOf('\n\n', at);
      addPackages(index, text.slice(at, end === -1 ? undefined : end), label);
    }
    at = lineEnd === -1 ? -1 : next(lineEnd);
  }
}

function addPackages(index: SourceIndex, text: string, label: string): void {
  let f: Partial<Record<'name' | 'version' | 'arch' | 'sha256' | 'filename', string>> = {};
  const flush = () => {
    if (f.name && f.version && f.arch && f.sha256) {
      const key = packageKey({ name: f.name, version: f.version, arch: f.arch });
      const component = f.filename?.split('/')[1];
      if (!index.has(key))
        index.set(key, { sha256: f.sha256, origin: [label, component].filter(Boolean).join('/') });
    }
    f = {};
  };
  for (const line of text.split('\n')) {
    if (line === '') {
      flush();
      continue;
    }
    const colon = line.indexOf(': ');
    const field = colon > 0 ? INDEX_FIELDS[line.slice(0, colon + 2)] : undefined;
    if (field) f[field] = line.slice(colon + 2).trim();
  }
  flush();
}

/**
 * Reads every *_Packages list in an apt lists folder (uncompressed, as apt stores them by
 * default). The component is the second part of the package's pool path.
 */
export async function readAptIndex(listsDir: string): Promise<SourceIndex> {
  const { names, stamp } = await listsStamp(listsDir);
  // Parsing takes seconds; `lock` and the manifests ask about the same lists several times.
  const memo = parsed.get(listsDir);
  if (memo?.stamp === stamp) return memo.index;
  const index = await parseLists(listsDir, names);
  parsed.set(listsDir, { stamp, index });
  return index;
}

const parsed = new Map<string, { stamp: string; index: SourceIndex }>();

/** The lists' names and mtimes: the lists changed when this did. */
async function listsStamp(listsDir: string): Promise<{ names: string[]; stamp: string }> {
  const names = (await readdir(listsDir).catch(() => [] as string[])).sort();
  const stamps = await Promise.all(names.map(async (n) => `${n} ${(await stat(join(listsDir, n))).mtimeMs}`));
  return { names, stamp: stamps.join('\n') };
}

/** How many answers the lookup memo keeps (a repo's targets and flavours have their own roots). */
const MAX_LOOKUPS = 16;

interface LookupMemo {
  stamp: string;
  lookups: { keys: string; found: Record<string, SourcePackage> }[];
}

/**
 * What the lists say about `keys` (packageKey strings), as readAptIndex but remembered in
 * `memoFile` until the lists change: a no-op build writes the output's manifest again, and
 * parsing the ~50 MB bookworm list for the same ~100 packages was most of its time.
 */
export async function lookupAptIndex(
  listsDir: string,
  keys: readonly string[],
  memoFile: string,
): Promise<SourceIndex> {
  const { names, stamp } = await listsStamp(listsDir);
  const wanted = [...new Set(keys)].sort().join('\n');
  let memo: LookupMemo = { stamp, lookups: [] };
  try {
    const read = JSON.parse(await readFile(memoFile, 'utf8')) as LookupMemo;
    if (read.stamp === stamp && Array.isArray(read.lookups)) memo = read;
  } catch {
    // No memo yet, or an unreadable one: parse the lists.
  }
  const hit = memo.lookups.find((l) => l.keys === wanted);
  if (hit) return new Map(Object.entries(hit.found));
  // A full parse this process already made answers too; else only the asked names' stanzas.
  const full = parsed.get(listsDir);
  const index =
    full?.stamp === stamp
      ? full.index
      : await parseLists(listsDir, names, new Set(keys.map((k) => k.split(' ')[0] as string)));
  const found: Record<string, SourcePackage> = {};
  for (const key of keys) {
    const known = index.get(key);
    if (known) found[key] = known;
  }
  memo.lookups = [{ keys: wanted, found }, ...memo.lookups].slice(0, MAX_LOOKUPS);
  // Written whole and renamed: a build beside this one never reads half a file. Only a memo:
  // a package cache that cannot take it (read-only) costs the parse next time, nothing else.
  await writeFileWhole(memoFile, JSON.stringify(memo), { mkdir: true }).catch(() => undefined);
  return new Map(Object.entries(found));
}

/** Every package of the lists, or only those named `only` (addNamedPackages). */
async function parseLists(
  listsDir: string,
  names: readonly string[],
  only?: ReadonlySet<string>,
): Promise<SourceIndex> {
  const index: SourceIndex = new Map();
  for (const name of names.filter((n) => n.endsWith('_Packages'))) {
    const suite = /^(.*_dists_[^_]+(?:_[^_]+)*?)_[^_]+_binary-[^_]+_Packages$/.exec(name)?.[1];
    const releaseFile = names.find((n) => suite && (n === `${suite}_InRelease` || n === `${suite}_Release`));
    const label = releaseFile ? releaseLabel(await readFile(join(listsDir, releaseFile), 'utf8')) : '';
    const text = await readFile(join(listsDir, name), 'utf8');
    if (only) addNamedPackages(index, text, label, only);
    else addPackages(index, text, label);
  }
  return index;
}

/**
 * Refreshes apt's view of the spec's sources in a scratch folder (no root, no dpkg database),
 * seeded from the package cache's lists so an unchanged mirror downloads only Release files,
 * and reads the index. This is what "the sources can still provide it" means for apt.
 */
export async function fetchAptIndex(ctx: PmContext): Promise<SourceIndex> {
  const dir = join(ctx.tmpDir, 'apt-index');
  const lists = join(dir, 'lists');
  await mkdir(join(lists, 'partial'), { recursive: true });
  const cachedLists = join(ctx.pkgCacheDir, APT_CACHE_DIRS[1].inCache);
  for (const e of await readdir(cachedLists, { withFileTypes: true }).catch(() => []))
    if (e.isFile() && e.name !== 'lock') await copyFile(join(cachedLists, e.name), join(lists, e.name));
  const sources = await aimedAptSources(ctx.spec, join(dir, 'aimed'));
  const config = await writeStandaloneAptConfig(dir, {
    sources: sources.files,
    gpgKeys: ctx.spec.gpgKeys,
    lists,
    // Nothing is downloaded but lists.
    archives: join(dir, 'archives'),
    arch: ctx.spec.arch,
  });
  await ctx.run('apt-get', ['update'], {
    env: { ...makeAptEnv(ctx.sourceDateEpoch), APT_CONFIG: config },
    cleanEnv: true,
  });
  return readAptIndex(lists);
}
