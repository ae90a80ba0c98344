import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import type { ResolvedSpec } from '../spec/types.js';

/** Names a sources file (one-line or deb822) that replaces the spec's and the host's. */
export const APT_SOURCES_ENV = 'ISOBUILD_APT_SOURCES';

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
  spec: ResolvedSpec,
  env: NodeJS.ProcessEnv = process.env,
  etcApt = '/etc/apt',
): Promise<AptSources> {
  const fromEnv = env[APT_SOURCES_ENV];
  if (fromEnv) return { files: [fromEnv], origin: 'env' };
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
