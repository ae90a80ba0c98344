import { readFile } from 'node:fs/promises';
import { resolveInRoot } from '../rootfs/root-path.js';

export interface Distro {
  /** os-release ID (debian, fedora, photon...). */
  readonly id: string;
  /** os-release VERSION_ID, or the spec's release when the root does not say. */
  readonly versionId: string;
}

export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(?:"(.*)"|'(.*)'|(.*))$/.exec(line.trim());
    if (m) out[m[1]!] = m[2] ?? m[3] ?? m[4] ?? '';
  }
  return out;
}

/** The root's distribution, for purl namespaces and distro qualifiers (debian, debian-12). */
export async function readDistro(root: string, fallback: Distro): Promise<Distro> {
  for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
    const host = await resolveInRoot(root, path).catch(() => undefined);
    const text = host && (await readFile(host, 'utf8').catch(() => undefined));
    if (!text) continue;
    const f = parseOsRelease(text);
    return { id: f.ID || fallback.id, versionId: f.VERSION_ID || fallback.versionId };
  }
  return fallback;
}
