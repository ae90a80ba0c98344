import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import type { OciSource } from '../spec/types.js';
import { inspectDigest } from './fetch-image.js';
import { isFileTransport, parseImageRef } from './image-ref.js';

export interface OciInputs {
  /** Files whose bytes decide the root: image archives or layouts, the Dockerfile and its context. */
  files: string[];
  /** Digests of images that are not files here (containers-storage, registries), and remote FROMs by name. */
  values: Record<string, string>;
}

/**
 * What an oci root depends on. A file image is hashed as a file; an image in the host's store
 * or a registry by its manifest digest (asked of skopeo, so a reference that cannot be
 * resolved fails here, before any work). A Dockerfile: itself, every file of its context that
 * .dockerignore does not exclude, and the local images its FROM lines name.
 */
export async function ociInputs(oci: OciSource): Promise<OciInputs> {
  if (oci.kind === 'image') {
    if (isFileTransport(oci.ref)) return { files: [oci.ref.path], values: {} };
    return { files: [], values: { image: await inspectDigest(oci.ref, run) } };
  }
  const files = (
    await (
      await import('globby')
    ).globby('**', {
      cwd: oci.context,
      dot: true,
      onlyFiles: true,
      followSymbolicLinks: false,
      ignoreFiles: ['.dockerignore'],
    })
  )
    .sort()
    .map((f) => join(oci.context, f));
  if (!files.includes(oci.path)) files.push(oci.path);
  const values: Record<string, string> = {};
  for (const from of fromImages(await readFile(oci.path, 'utf8'))) {
    let ref;
    try {
      ref = parseImageRef(from, oci.context);
    } catch {
      ref = undefined;
    }
    if (ref && isFileTransport(ref)) files.push(ref.path);
    else values[`FROM ${from}`] = from;
  }
  return { files, values };
}

/** The images a Dockerfile's FROM lines name (stage aliases and `scratch` left out). */
export function fromImages(dockerfile: string): string[] {
  const aliases = new Set<string>();
  const out: string[] = [];
  for (const m of dockerfile.matchAll(/^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/gim)) {
    const image = m[1]!;
    if (image !== 'scratch' && !aliases.has(image.toLowerCase())) out.push(image);
    if (m[2]) aliases.add(m[2].toLowerCase());
  }
  return out;
}
