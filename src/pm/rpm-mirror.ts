import { readFile } from 'node:fs/promises';
import { basename, relative, isAbsolute } from 'node:path';
import { UsageError } from '../errors.js';
import { SHIPPED_REPOS } from '../spec/shipped-repos.js';
import { parseRepoFile } from './rpm-repo-files.js';

/** The default of `build --mirror`, for CI and air-gapped hosts. */
export const MIRROR_ENV = 'ISOBUILD_MIRROR';

/**
 * `--mirror URL` (mkosi's Mirror=): the mirror holds a copy of the tree the repo's .repo files
 * point into. That tree is the longest folder every remote baseurl starts with
 * (https://packages.vmware.com/photon/2.0/ for photon-2.0's release and updates repos), so one
 * URL stands in for all of a distribution's repositories however its mirror is laid out above.
 */
export interface MirrorRewrite {
  /** The folder every remote baseurl starts with, as written (trailing '/'). */
  readonly from: string;
  /** The mirror, with a trailing '/'. */
  readonly to: string;
}

const REMOTE = /^(https?|ftp):\/\/[^/]+/i;
const BASEURL_LINE = /^(\s*baseurl\s*=\s*)(.*)$/i;

/** A baseurl value may list several URLs, separated by spaces or commas. */
function splitUrls(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

const asFolder = (url: string) => (url.endsWith('/') ? url : `${url}/`);

/** The longest folder the URLs share: same scheme and host, then whole path segments. */
export function commonFolder(urls: readonly string[]): string | undefined {
  if (!urls.length) return undefined;
  const split = urls.map((u) => {
    const origin = REMOTE.exec(u)![0];
    return { origin, segments: asFolder(u).slice(origin.length).split('/').filter(Boolean) };
  });
  const origin = split[0]!.origin;
  if (split.some((s) => s.origin.toLowerCase() !== origin.toLowerCase())) return undefined;
  const common: string[] = [];
  for (let i = 0; ; i++) {
    const seg = split[0]!.segments[i];
    if (seg === undefined || split.some((s) => s.segments[i] !== seg)) break;
    common.push(seg);
  }
  return `${origin}/${common.map((s) => `${s}/`).join('')}`;
}

/** The remote baseurls of .repo texts (disabled repositories too: enabling one later must keep working). */
export function remoteBaseurls(texts: readonly string[]): string[] {
  return texts.flatMap((t) =>
    parseRepoFile(t).flatMap((s) => splitUrls(s.options.baseurl ?? '').filter((u) => REMOTE.test(u))),
  );
}

/** What --mirror replaces in these .repo files; a usage error when it cannot stand in for them. */
export async function planMirror(repoFiles: readonly string[], mirror: string): Promise<MirrorRewrite> {
  if (!/^(https?|ftp|file):\/\//i.test(mirror))
    throw new UsageError(
      `--mirror takes an http(s)://, ftp:// or file:// URL, not ${JSON.stringify(mirror)}`,
    );
  const urls = remoteBaseurls(await Promise.all(repoFiles.map((f) => readFile(f, 'utf8'))));
  const names = repoFiles.map((f) => basename(f)).join(', ');
  if (!urls.length)
    throw new UsageError(
      `--mirror: ${names || 'the repo'} has no http(s):// or ftp:// baseurl= to point at a mirror`,
    );
  const from = commonFolder(urls);
  if (!from)
    throw new UsageError(
      `--mirror: the baseurl= lines of ${names} name several hosts (${[...new Set(urls.map((u) => REMOTE.exec(u)![0]))].join(', ')}), ` +
        'which one mirror cannot stand in for: copy the repo (isobuild new) and edit its .repo files',
    );
  return { from, to: asFolder(mirror) };
}

/** The .repo text with every baseurl under `from` moved under `to`; other lines as they were. */
export function rewriteBaseurls(text: string, m: MirrorRewrite): string {
  return text
    .split('\n')
    .map((line) => {
      const match = BASEURL_LINE.exec(line);
      if (!match) return line;
      const urls = splitUrls(match[2]!).map((u) =>
        asFolder(u).startsWith(m.from) ? m.to + asFolder(u).slice(m.from.length) : u,
      );
      return match[1]! + urls.join(' ');
    })
    .join('\n');
}

/** Whether a repo folder is one the npm package ships (edits there are lost on upgrade, and npx's copy is temporary). */
export function isShippedRepo(repoDir: string): boolean {
  const rel = relative(SHIPPED_REPOS, repoDir);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** dnf's, yum's and tdnf's words for "the repository's metadata could not be fetched". */
const METADATA_FAILURE =
  /Failed to download metadata|Cannot download repomd\.xml|Failed to synchronize cache|Cannot find a valid baseurl|All mirrors were tried|Curl error|Error\(\d+\) : .*(resolve|connect)/i;

/**
 * The advice a shipped sample repo's user needs when its mirror cannot be reached: the
 * distribution's own servers are gone, moved, or out of this host's reach.
 */
export function shippedRepoHint(repoDir: string, output: string): string | undefined {
  if (!isShippedRepo(repoDir) || !METADATA_FAILURE.test(output)) return undefined;
  const name = basename(repoDir);
  return (
    `${name} is a sample shipped with isobuild and its repositories could not be reached from here. ` +
    `Point it at a mirror you can reach: isobuild build ${name} --mirror <URL> (or ${MIRROR_ENV}=<URL>), ` +
    `or copy it and edit its .repo files: isobuild new mine --from ${name} (docs/package-managers.md, "Mirrors")`
  );
}
