import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, delimiter, join } from 'node:path';
import { BuildError } from '../errors.js';
import type { ResolvedSpec } from '../spec/types.js';

/**
 * Names the sources files (one-line or deb822) that replace the spec's and the host's: one path,
 * or several separated by `:` as in PATH (a restored bundle of a host with several files).
 */
export const APT_SOURCES_ENV = 'ISOBUILD_APT_SOURCES';

/** The files $ISOBUILD_APT_SOURCES names, in order (empty parts skipped). */
export function envSourcesFiles(value: string | undefined): string[] {
  return (value ?? '').split(delimiter).filter(Boolean);
}

export interface AptSources {
  /** Files handed to mmdebstrap as mirror arguments (it pastes each into the new root). */
  files: string[];
  /** Where they came from, for logs and `isobuild plan`. */
  origin: 'env' | 'spec' | 'host';
}

/**
 * Where the root's packages come from, in order: $ISOBUILD_APT_SOURCES, the spec's
 * apt.sources, the build host's own apt configuration. Paths are passed on, never a mirror's
 * name: the host's configuration already says which mirror this machine may use.
 */
export async function findAptSources(
  spec: Pick<ResolvedSpec, 'apt'>,
  env: NodeJS.ProcessEnv = process.env,
  etcApt = '/etc/apt',
): Promise<AptSources> {
  const fromEnv = envSourcesFiles(env[APT_SOURCES_ENV]);
  if (fromEnv.length) return { files: fromEnv, origin: 'env' };
  if (spec.apt.sources) return { files: [spec.apt.sources], origin: 'spec' };
  const files = await findHostSources(etcApt);
  if (!files.length)
    throw new BuildError(
      `no apt sources: ${etcApt}/sources.list and ${etcApt}/sources.list.d/ hold no entries; ` +
        `set apt.sources in the repo spec or ${APT_SOURCES_ENV}=<file>`,
    );
  return { files, origin: 'host' };
}

/** The host's sources.list and sources.list.d/*.list|*.sources that hold at least one entry. */
export async function findHostSources(etcApt = '/etc/apt'): Promise<string[]> {
  const candidates = [join(etcApt, 'sources.list')];
  const dir = join(etcApt, 'sources.list.d');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.sort()) {
    if (name.endsWith('.list') || name.endsWith('.sources')) candidates.push(join(dir, name));
  }
  const found: string[] = [];
  for (const file of candidates) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined && hasEntries(text)) found.push(file);
  }
  return found;
}

/** Whether a one-line or deb822 sources text has an enabled entry. */
export function hasEntries(text: string): boolean {
  const lines = text.split('\n').map((l) => l.trim());
  if (lines.some((l) => /^deb(-src)?\s/.test(l))) return true;
  // deb822: stanzas separated by blank lines; one with Types: and not Enabled: no counts.
  const stanzas = text.split(/\n\s*\n/);
  return stanzas.some(
    (s) => /^Types:\s*\S/im.test(s) && !/^Enabled:\s*no\s*$/im.test(s) && /^URIs:\s*\S/im.test(s),
  );
}

/** The build host's Debian/Ubuntu codename (VERSION_CODENAME in os-release), if it has one. */
export async function hostCodename(osRelease = '/etc/os-release'): Promise<string | undefined> {
  const text = await readFile(osRelease, 'utf8').catch(() => '');
  return /^VERSION_CODENAME="?([^"\n]+)"?$/m.exec(text)?.[1];
}

/**
 * The host's sources, aimed at the spec's release and components: bookworm, bookworm-updates
 * and bookworm-security become trixie, trixie-updates and trixie-security when a repo asks for
 * trixie on a bookworm host; Components become the spec's. Same mirrors, same keys.
 */
export function retargetSources(
  text: string,
  from: string,
  to: string,
  components: readonly string[],
): string {
  const suite = (s: string) => (s === from || s.startsWith(`${from}-`) ? to + s.slice(from.length) : s);
  return text
    .split('\n')
    .map((line) => {
      const deb822 = /^(Suites|Components):(\s*)(.*)$/i.exec(line);
      if (deb822) {
        const [, field, space, value] = deb822 as unknown as [string, string, string, string];
        if (field.toLowerCase() === 'components') return `${field}:${space || ' '}${components.join(' ')}`;
        return `${field}:${space || ' '}${value.split(/\s+/).filter(Boolean).map(suite).join(' ')}`;
      }
      const oneLine = /^(deb(?:-src)?(?:\s+\[[^\]]*\])?\s+\S+\s+)(\S+)(\s+.*)?$/.exec(line);
      if (oneLine) return `${oneLine[1]}${suite(oneLine[2] as string)} ${components.join(' ')}`;
      return line;
    })
    .join('\n');
}

/**
 * Host sources as mmdebstrap should get them: unchanged when they already name the spec's
 * release and components, else rewritten copies in `dir`.
 */
export async function aimHostSources(
  files: readonly string[],
  release: string,
  components: readonly string[],
  dir: string,
  codename?: string,
): Promise<string[]> {
  const from = codename ?? (await hostCodename());
  const out: string[] = [];
  await mkdir(dir, { recursive: true });
  for (const [i, file] of files.entries()) {
    const text = await readFile(file, 'utf8');
    const aimed = from ? retargetSources(text, from, release, components) : text;
    if (aimed === text) {
      out.push(file);
      continue;
    }
    const copy = join(dir, `${String(i).padStart(2, '0')}-${basename(file)}`);
    await writeFile(copy, aimed);
    out.push(copy);
  }
  return out;
}

/**
 * The suite of the first enabled binary entry of a sources text (one-line `deb URI SUITE ...`
 * or deb822 `Suites:`); undefined for flat repositories (`./`) or when there is none.
 */
export function suiteOfSources(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const oneLine = /^\s*deb(?:\s+\[[^\]]*\])?\s+\S+\s+(\S+)/.exec(line);
    if (oneLine && !oneLine[1]!.endsWith('/')) return oneLine[1];
  }
  for (const stanza of text.split(/\n\s*\n/)) {
    if (!/^Types:.*\bdeb\b/im.test(stanza) || /^Enabled:\s*no\s*$/im.test(stanza)) continue;
    const suite = /^Suites:\s*(\S+)/im.exec(stanza)?.[1];
    if (suite && !suite.endsWith('/')) return suite;
  }
  return undefined;
}

/** The sources files mmdebstrap gets: the host's aimed at the spec's release (copies in `dir`). */
export async function aimedAptSources(
  spec: Pick<ResolvedSpec, 'apt' | 'release'>,
  dir: string,
): Promise<AptSources> {
  const sources = await findAptSources(spec);
  if (sources.origin === 'host') {
    const { release, apt } = spec;
    sources.files = await aimHostSources(sources.files, release, apt.components, dir);
  }
  return sources;
}
