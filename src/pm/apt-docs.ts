import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { quoteWord } from '../exec/shell-quote.js';
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

/** A filter's pattern up to its first wildcard: dpkg's test for folders on the way to an include. */
function literalPrefix(pattern: string): string {
  const wildcard = pattern.search(/[*?[\\]/);
  return wildcard < 0 ? pattern : pattern.slice(0, wildcard);
}

/**
 * A POSIX sh script that applies dpkg path filters to a root already unpacked without them
 * (`sh SCRIPT ROOT`): mmdebstrap's extract hook runs it on the essential set before dpkg
 * installs it, so maintainer scripts see the root as dpkg's own filtering would leave it.
 * find's -path is fnmatch(3) without FNM_PATHNAME, as dpkg's filters are; the expression is
 * dpkg's filter_should_skip(): the last matching filter decides, an excluded folder or link
 * whose path starts with an include's literal prefix stays (so /usr/share/doc/<pkg> keeps its
 * copyright), and an excluded folder goes only once it is empty.
 */
export function dpkgFilterScript(filters: readonly string[]): string {
  const parsed = filters.map((f) => ({
    include: f.startsWith('path-include='),
    pattern: '.' + f.replace(/^path-(include|exclude)=/, ''),
  }));
  const q = (s: string) => quoteWord(s);
  const any = (tests: string[]) => (tests.length ? `\\( ${tests.join(' -o ')} \\)` : '-false');
  const skipped = any(
    parsed.flatMap((f, i) => {
      if (f.include) return [];
      const later = parsed.slice(i + 1).filter((g) => g.include);
      return [
        `\\( -path ${q(f.pattern)}${later.length ? ` ! ${any(later.map((g) => `-path ${q(g.pattern)}`))}` : ''} \\)`,
      ];
    }),
  );
  const onTheWay = any(
    parsed
      .filter((f) => f.include)
      .map((f) => `-path ${q(literalPrefix(f.pattern).replace(/\/+$/, '') + '*')}`),
  );
  const folders = [
    ...new Set(
      parsed
        .filter((f) => !f.include)
        .map((f) => {
          const literal = literalPrefix(f.pattern);
          return literal.slice(0, literal.lastIndexOf('/')) || '.';
        }),
    ),
  ].sort();
  return [
    '# Written by isobuild: dpkg path filters (docs: false) applied to an unpacked root.',
    'set -e',
    'cd "$1"',
    'set --',
    `for d in ${folders.map(q).join(' ')}; do`,
    '    if [ -d "$d" ] && [ ! -L "$d" ]; then set -- "$@" "$d"; fi',
    'done',
    '[ $# -gt 0 ] || exit 0',
    `find "$@" -depth ${skipped} ! \\( \\( -type d -o -type l \\) ${onTheWay} \\) \\( ! -type d -o -empty \\) -delete`,
    '',
  ].join('\n');
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
