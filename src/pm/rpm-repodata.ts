import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { PmContext } from './types.js';

/** One `<data>` entry of a repomd.xml: the metadata file it names and the digest it vouches for. */
export interface RepomdEntry {
  readonly type: string;
  /** Relative to the repository's base (`repodata/<sha>-primary.xml.gz`). */
  readonly href: string;
  readonly checksumType: string;
  readonly checksum: string;
}

const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];

/** The `<data>` entries of a repomd.xml (createrepo_c's layout: one checksum and one location each). */
export function parseRepomd(xml: string): RepomdEntry[] {
  const out: RepomdEntry[] = [];
  for (const m of xml.matchAll(/<data\b([^>]*)>([\s\S]*?)<\/data>/g)) {
    const type = attr(m[1]!, 'type');
    const checksum = /<checksum\b([^>]*)>\s*([0-9a-fA-F]+)\s*<\/checksum>/.exec(m[2]!);
    const location = /<location\b[^>]*>/.exec(m[2]!)?.[0];
    const href = location && attr(location, 'href');
    if (type && checksum && href)
      out.push({
        type,
        href,
        checksumType: attr(checksum[1]!, 'type') ?? 'sha256',
        checksum: checksum[2]!.toLowerCase(),
      });
  }
  return out;
}

/** The digest a repomd.xml gives a file, in its own algorithm (`sha` is yum's old name for sha1). */
export async function repomdDigest(path: string, type: string): Promise<string> {
  const algorithm = type === 'sha' ? 'sha1' : type;
  return createHash(algorithm)
    .update(await readFile(path))
    .digest('hex');
}

/** The tool that undoes a metadata file's compression, by its name's end (gzip is read in-process). */
const DECOMPRESSORS: Record<string, string> = { '.xz': 'xz', '.zst': 'zstd', '.bz2': 'bzip2' };

/** A metadata file's text, decompressed as its name says. */
export async function readMetadata(path: string, run: PmContext['run']): Promise<string> {
  if (path.endsWith('.gz')) return gunzipSync(await readFile(path)).toString('utf8');
  const tool = Object.entries(DECOMPRESSORS).find(([ext]) => path.endsWith(ext))?.[1];
  if (tool) return (await run(tool, ['-dc', path])).stdout;
  return readFile(path, 'utf8');
}

/**
 * Each package file's name → its location in the repository, from primary.xml: where dnf looks
 * for it below the baseurl (`Packages/b/bash-5.2.15-2.x86_64.rpm`, or a bare name for a flat repo).
 */
export function primaryLocations(xml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of xml.matchAll(/<location\b[^>]*>/g)) {
    const href = attr(m[0], 'href');
    if (href?.endsWith('.rpm')) out.set(href.slice(href.lastIndexOf('/') + 1), href);
  }
  return out;
}
