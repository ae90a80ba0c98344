import { isAbsolute, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Image references as the containers tools (skopeo, buildah, podman) write them:
 * `transport:reference`. Only these transports are taken; the local ones never touch a network.
 */
export const IMAGE_TRANSPORTS = [
  'oci',
  'oci-archive',
  'docker-archive',
  'containers-storage',
  'docker',
] as const;
export type ImageTransport = (typeof IMAGE_TRANSPORTS)[number];

export interface ImageRef {
  transport: ImageTransport;
  /** For the file transports an absolute path; otherwise the reference as written. */
  path: string;
  /** The tag or ref name inside an oci layout or archive, when given. */
  tag?: string;
}

const FILE_TRANSPORTS: ReadonlySet<ImageTransport> = new Set(['oci', 'oci-archive', 'docker-archive']);

export function isFileTransport(ref: ImageRef): boolean {
  return FILE_TRANSPORTS.has(ref.transport);
}

/** Whether resolving the reference may need a registry (and so a network). */
export function isRemote(ref: ImageRef): boolean {
  return ref.transport === 'docker';
}

/**
 * Parse `oci-archive:base.tar`, `oci:layout:tag`, `docker://registry/name:tag`... Relative
 * paths of file transports are taken from `baseDir` (the repo folder). A bare path ending in
 * .tar is an oci-archive, any other bare path an oci layout folder.
 */
export function parseImageRef(text: string, baseDir: string): ImageRef {
  const m = /^([a-z-]+):(.*)$/.exec(text);
  const transport = m?.[1] as ImageTransport | undefined;
  if (!m || !transport || !(IMAGE_TRANSPORTS as readonly string[]).includes(transport)) {
    if (/^[a-z-]+:\/\//.test(text) || (m && !text.startsWith('/') && !text.startsWith('.')))
      throw new UsageError(
        `image reference "${text}": unknown transport; use one of ${IMAGE_TRANSPORTS.map((t) => `${t}:`).join(', ')}`,
      );
    return { transport: text.endsWith('.tar') ? 'oci-archive' : 'oci', path: absolute(text, baseDir) };
  }
  const rest = m[2]!;
  if (transport === 'docker') {
    if (!rest.startsWith('//'))
      throw new UsageError(`image reference "${text}": docker references start docker://`);
    return { transport, path: rest.slice(2) };
  }
  if (transport === 'containers-storage') return { transport, path: rest };
  // A file transport: path[:tag]; a colon inside the path is not supported by the tools either.
  const colon = rest.lastIndexOf(':');
  const path = colon > 0 ? rest.slice(0, colon) : rest;
  const tag = colon > 0 ? rest.slice(colon + 1) : undefined;
  if (!path) throw new UsageError(`image reference "${text}": no path`);
  return { transport, path: absolute(path, baseDir), ...(tag ? { tag } : {}) };
}

export function formatImageRef(ref: ImageRef): string {
  if (ref.transport === 'docker') return `docker://${ref.path}`;
  return `${ref.transport}:${ref.path}${ref.tag ? `:${ref.tag}` : ''}`;
}

function absolute(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}
