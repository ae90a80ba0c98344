import { readFile } from 'node:fs/promises';
import { resolveInRoot } from '../rootfs/root-path.js';
import { comparePackages, type InstalledPackage } from './types.js';

export const DPKG_STATUS = '/var/lib/dpkg/status';

/** deb822 stanzas (dpkg status, apt's Packages lists) as field maps; continuation lines dropped. */
export function parseStanzas(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    if (fields.size) out.push(fields);
  }
  return out;
}

/**
 * The packages dpkg considers installed (what `dpkg-query -W` lists with status installed),
 * sorted. Source: is "name" or "name (version)"; absent means the binary's own name.
 */
export function parseDpkgStatus(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const f of parseStanzas(text)) {
    const status = f.get('status')?.split(/\s+/);
    if (status?.[2] !== 'installed') continue;
    const name = f.get('package');
    const version = f.get('version');
    if (!name || !version) continue;
    const sourceField = /^(\S+)(?:\s+\((.+)\))?$/.exec(f.get('source') ?? '');
    out.push({
      name,
      version,
      arch: f.get('architecture') ?? 'all',
      source: sourceField?.[1] ?? name,
    });
  }
  return out.sort(comparePackages);
}

/** The root's dpkg database, or undefined when the root has none (a minimised root). */
export async function readDpkgStatus(root: string): Promise<InstalledPackage[] | undefined> {
  const path = await resolveInRoot(root, DPKG_STATUS, false);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseDpkgStatus(text);
}

/** Names of the packages a root's dpkg database says are installed (empty when it has none). */
export async function installedDebPackages(root: string): Promise<Set<string>> {
  return new Set(((await readDpkgStatus(root)) ?? []).map((p) => p.name));
}
