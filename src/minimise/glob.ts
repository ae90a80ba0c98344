import { readdir } from 'node:fs/promises';
import { hostPath, walkInRoot } from '../rootfs/root-path.js';

/**
 * Globs over paths inside a root (keep, list_dirs, exclude). Our own small matcher rather
 * than a host glob library, because those read through symlinks on the host: /lib -> /usr/lib
 * is fine, but an absolute link would lead them out of the root.
 *
 * Syntax: `*` and `?` within one component, `**` across components, `[abc]`, `{a,b}`.
 * Patterns are absolute in-root paths (a missing leading slash is added).
 */
export function globToRegExp(pattern: string): RegExp {
  const p = pattern.startsWith('/') ? pattern : '/' + pattern;
  let re = '';
  let inBrace = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '*') {
      if (p[i + 1] === '*') {
        i++;
        if (p[i + 1] === '/') {
          i++;
          re += '(?:.*/)?'; // '**/' matches zero or more whole directories
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re +=
          '[' +
          p
            .slice(i + 1, end)
            .replace(/^!/, '^')
            .replace(/\\/g, '\\\\') +
          ']';
        i = end;
      }
    } else if (c === '{') {
      inBrace++;
      re += '(?:';
    } else if (c === '}' && inBrace) {
      inBrace--;
      re += ')';
    } else if (c === ',' && inBrace) re += '|';
    else re += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return new RegExp('^' + re.replace(/\/$/, '') + '$');
}

/** The leading components without glob characters: where a walk for the pattern can start. */
export function staticPrefix(pattern: string): string {
  const parts = (pattern.startsWith('/') ? pattern : '/' + pattern).split('/').slice(1);
  const fixed: string[] = [];
  for (const part of parts.slice(0, -1)) {
    if (/[*?[{]/.test(part)) break;
    fixed.push(part);
  }
  return '/' + fixed.join('/');
}

/** Every in-root path under `dir` (not following symlinks), depth first, sorted. */
export async function walkRoot(root: string, dir = '/'): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string) => {
    let entries;
    try {
      entries = await readdir(hostPath(root, d), { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = d === '/' ? `/${e.name}` : `${d}/${e.name}`;
      out.push(p);
      if (e.isDirectory()) await visit(p);
    }
  };
  await visit(dir);
  return out;
}

/**
 * In-root paths matching any of the patterns. The static prefix of a pattern is resolved
 * through the root's symlinks first, so `/lib/x86_64-linux-gnu/*.so*` works on merged-/usr roots;
 * matches are reported under the resolved prefix.
 */
export async function matchRootGlobs(root: string, patterns: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const prefix = staticPrefix(pattern);
    const resolved = await walkInRoot(root, prefix);
    if (!resolved.stat?.isDirectory()) continue;
    const rest = (pattern.startsWith('/') ? pattern : '/' + pattern).slice(
      prefix === '/' ? 0 : prefix.length,
    );
    const base = resolved.path === '/' ? '' : resolved.path;
    const re = globToRegExp(base + rest);
    for (const p of await walkRoot(root, resolved.path)) if (re.test(p)) found.add(p);
  }
  return [...found].sort();
}

/** Whether an in-root path matches any of the patterns (no filesystem access). */
export function matchesAny(path: string, patterns: readonly RegExp[]): boolean {
  return patterns.some((re) => re.test(path));
}
