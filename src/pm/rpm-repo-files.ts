import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BuildError } from '../errors.js';
import type { ResolvedSpec } from '../spec/types.js';
import { exists } from '../fs/exists.js';

/** Where the host keeps its yum/dnf repositories: the fallback for a repo folder without *.repo. */
export const HOST_YUM_REPOS = '/etc/yum.repos.d';

/** The host's *.repo files, sorted; none when the folder is absent (a Debian host). */
export async function hostRepoFiles(dir = HOST_YUM_REPOS): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.repo'))
    .sort()
    .map((n) => join(dir, n));
}

/** One [section] of a yum .repo file: its id and its keys (lower case), as written. */
export interface RepoSection {
  id: string;
  options: Record<string, string>;
}

/** The INI dialect of .repo files: [id] headers, key=value lines, # and ; comments. */
export function parseRepoFile(text: string): RepoSection[] {
  const sections: RepoSection[] = [];
  let current: RepoSection | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = { id: header[1]!.trim(), options: {} };
      sections.push(current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current && eq > 0)
      current.options[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return sections;
}

const TRUE = new Set(['1', 'yes', 'true', 'on']);
const isOn = (v: string | undefined, dflt: boolean) => (v === undefined ? dflt : TRUE.has(v.toLowerCase()));

/**
 * Whether a gpgkey= value can give a key. dnf reads file:// keys on the build host even with
 * --installroot, so VIC's file:///etc/pki/rpm-gpg/... names a file most build hosts lack;
 * other URLs are fetched and given the benefit of the doubt.
 */
async function canFetchKey(gpgkey: string | undefined): Promise<boolean> {
  const urls = (gpgkey ?? '').split(/[\s,]+/).filter(Boolean);
  for (const url of urls) {
    if (!url.startsWith('file://')) return true;
    if (await exists(decodeURIComponent(url.slice('file://'.length)))) return true;
  }
  return false;
}

/**
 * Repos that check signatures but can get no key: none in the repo folder (imported into
 * the root's database) and no gpgkey= that resolves. dnf would stop with its generic advice
 * and a dump of the repo's settings; this names the file and the fix instead.
 */
export async function findReposWithoutKeys(
  spec: Pick<ResolvedSpec, 'gpgKeys' | 'repoFiles'>,
): Promise<string[]> {
  if (spec.gpgKeys.length) return [];
  const out: string[] = [];
  // gpgcheck defaults to on: it is on in the [main] isobuild writes.
  for (const file of spec.repoFiles)
    for (const s of parseRepoFile(await readFile(file, 'utf8')))
      if (
        isOn(s.options.enabled, true) &&
        isOn(s.options.gpgcheck, true) &&
        !(await canFetchKey(s.options.gpgkey))
      )
        out.push(`${basename(file)} [${s.id}]`);
  return out;
}

export async function checkRepoKeys(
  spec: Pick<ResolvedSpec, 'gpgKeys' | 'repoFiles'>,
  stage: string,
): Promise<void> {
  const missing = await findReposWithoutKeys(spec);
  if (!missing.length) return;
  throw new BuildError(
    `${missing.join(', ')} ${missing.length > 1 ? 'check' : 'checks'} package signatures (gpgcheck=1) but ` +
      `there is no key to check them with: put the repository's public key in the repo folder ` +
      `(a *.asc, *.gpg or *GPG-KEY* file), name one the build host has with gpgkey= in the .repo ` +
      `(file:// keys are read on the build host, not in the root), or set gpgcheck=0`,
    stage,
  );
}
