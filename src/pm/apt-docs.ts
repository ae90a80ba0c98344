import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedSpec } from '../spec/types.js';

/** Where the filters live in the root, so later installs (staging, appliance) follow them too. */
export const DPKG_DOCS_CONFIG = '/etc/dpkg/dpkg.cfg.d/isobuild-docs';

/**
 * dpkg path filters for `docs: false` (mkosi's WithDocs=no): documentation, man and info
 * pages, lintian overrides and message catalogues other than the spec's `locales` are never
 * unpacked. Copyright files stay: they are what a redistributed image must carry.
 */
export function dpkgDocFilters(spec: Pick<ResolvedSpec, 'docs' | 'locales'>): string[] {
  if (spec.docs) return [];
  return [
    'path-exclude=/usr/share/doc/*',
    'path-include=/usr/share/doc/*/copyright',
    'path-exclude=/usr/share/man/*',
    'path-exclude=/usr/share/info/*',
    'path-exclude=/usr/share/lintian/*',
    'path-exclude=/usr/share/locale/*',
    'path-include=/usr/share/locale/locale.alias',
    ...spec.locales.map((l) => `path-include=/usr/share/locale/${l}/*`),
  ];
}

export function renderDpkgDocsConfig(filters: readonly string[]): string {
  return ['# Written by isobuild (docs: false in the repo spec).', ...filters, ''].join('\n');
}

/**
 * About how many bytes the filters kept out of the root: per package, its Installed-Size (what
 * dpkg-gencontrol counted: each file rounded up to a KiB, 1 KiB per link) minus the same count
 * over its files that are in the root, never below 0 (hard links and files made by maintainer
 * scripts skew single packages). Read from the dpkg database: a few thousand lstat calls, not
 * a second pass over the packages.
 */
export async function estimateFilteredBytes(root: string): Promise<number> {
  const status = await readFile(join(root, 'var/lib/dpkg/status'), 'utf8').catch(() => '');
  const declaredKiB = new Map<string, number>();
  for (const stanza of status.split(/\n\n+/)) {
    const name = /^Package: (\S+)$/m.exec(stanza)?.[1];
    if (!name || !/^Status: install ok installed$/m.test(stanza)) continue;
    declaredKiB.set(name, Number(/^Installed-Size: (\d+)$/m.exec(stanza)?.[1] ?? 0));
  }
  const info = join(root, 'var/lib/dpkg/info');
  let filteredKiB = 0;
  for (const file of await readdir(info).catch(() => [] as string[])) {
    const declared = declaredKiB.get(file.replace(/(:[a-z0-9-]+)?\.list$/, ''));
    if (!file.endsWith('.list') || declared === undefined) continue;
    let presentKiB = 0;
    for (const path of (await readFile(join(info, file), 'utf8')).split('\n')) {
      if (!path || path === '/.') continue;
      const st = await lstat(join(root, path)).catch(() => undefined);
      if (st && !st.isDirectory()) presentKiB += st.isFile() ? Math.ceil(st.size / 1024) : 1;
    }
    filteredKiB += Math.max(0, declared - presentKiB);
  }
  return filteredKiB * 1024;
}
