import { readdir } from 'node:fs/promises';
import picomatch from 'picomatch';
import { hostPath, walkInRoot } from './root-path.js';

/**
 * Globs over paths inside a root (keep, list_dirs, exclude). Matching is picomatch's (the glob
 * syntax globby users know); walking is ours, because host glob libraries read through
 * symlinks on the host: /lib -> /usr/lib is fine, but an absolute link would lead them out of
 * the root.
 *
 * Patterns are absolute in-root paths (a missing leading slash is added); `*` matches dot
 * files too, as a shell glob in a root listing would be expected to by a `keep` author.
 */
// posix: `[!a]` negates a class as in a shell (without it picomatch reads the `!` as a member).
const OPTIONS: picomatch.PicomatchOptions = { dot: true, posix: true };

function inRoot(pattern: string): string {
  const p = pattern.startsWith('/') ? pattern : '/' + pattern;
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

export function globToRegExp(pattern: string): RegExp {
  return picomatch.makeRe(inRoot(pattern), OPTIONS);
}

/**
 * Why a glob is malformed (an unclosed `{`, `[` or `(`), or undefined when it is fine: spec
 * values are checked when the spec is validated, so a build never meets one.
 */
export function globProblem(pattern: string): string | undefined {
  try {
    picomatch.makeRe(inRoot(pattern), { ...OPTIONS, strictBrackets: true });
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // picomatch's hint shows the escape JSON-quoted ("\\}"); say it once, plainly.
    const close = /^Missing closing: "(.)"/.exec(message)?.[1];
    const open = close && { '}': '{', ']': '[', ')': '(' }[close];
    return open
      ? `a "${open}" is never closed by "${close}" (write \\${open} for a literal "${open}")`
      : message;
  }
}

/** The leading components without glob characters: where a walk for the pattern can start. */
export function staticPrefix(pattern: string): string {
  const parts = (pattern.startsWith('/') ? pattern : '/' + pattern).split('/').slice(1);
  const fixed: string[] = [];
  for (const part of parts.slice(0, -1)) {
    if (/[*?[{(]/.test(part)) break;
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
