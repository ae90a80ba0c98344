import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import { BuildError } from '../errors.js';
import { isDigest, parseManifest, type Descriptor, type OciManifest } from '../registry/oci.js';
import { MEDIA_TYPES, REF_NAME } from './media-types.js';

export type { Descriptor };

export interface ImageConfig {
  architecture?: string;
  os?: string;
  rootfs?: { type: string; diff_ids: string[] };
}

/** A digest names a file under blobs/: only a well-formed one is ever turned into a path. */
export function blobPath(layout: string, digest: string): string {
  if (!isDigest(digest)) throw new BuildError(`OCI layout ${layout}: "${digest}" is not a sha256 digest`);
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/** Store bytes as a blob; the descriptor names it by its sha256. */
export async function writeJsonBlob(layout: string, mediaType: string, value: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(blobPath(layout, digest), bytes, { mode: 0o644 });
  return { mediaType, digest, size: bytes.length };
}

/**
 * Gzip an uncompressed layer tar into the layout. Returns the layer's descriptor and its
 * diff_id (the digest of the uncompressed tar), both computed in the one pass. zlib's gzip
 * header carries no name and a zero date, so the same tar gives the same blob.
 */
export async function writeLayerBlob(
  layout: string,
  tarFile: string,
): Promise<{ descriptor: Descriptor; diffId: string }> {
  const dir = join(layout, 'blobs', 'sha256');
  await mkdir(dir, { recursive: true });
  const plain = createHash('sha256');
  const packed = createHash('sha256');
  let size = 0;
  const tmp = join(dir, '.layer.partial');
  await pipeline(
    createReadStream(tarFile),
    tap((chunk) => plain.update(chunk)),
    createGzip({ level: 6 }),
    tap((chunk) => {
      packed.update(chunk);
      size += chunk.length;
    }),
    createWriteStream(tmp, { mode: 0o644 }),
  );
  const digest = `sha256:${packed.digest('hex')}`;
  await rename(tmp, blobPath(layout, digest));
  return {
    descriptor: { mediaType: MEDIA_TYPES.layerGzip, digest, size },
    diffId: `sha256:${plain.digest('hex')}`,
  };
}

function tap(fn: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      fn(chunk);
      done(null, chunk);
    },
  });
}

/** index.json naming one manifest by `tag`, and the oci-layout marker file. */
export async function writeIndex(layout: string, manifest: Descriptor, tag: string): Promise<void> {
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [{ ...manifest, annotations: { [REF_NAME]: tag } }],
  };
  await writeFile(join(layout, 'index.json'), JSON.stringify(index), { mode: 0o644 });
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }), {
    mode: 0o644,
  });
}

async function readJson<T>(file: string, what: string): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    throw new BuildError(`${what}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The manifest a layout's index names (by tag, or its only one) and the image config. */
export async function readImage(
  layout: string,
  tag?: string,
): Promise<{ manifestDigest: string; manifest: OciManifest; config: ImageConfig }> {
  const index = await readJson<{ manifests?: Descriptor[] }>(join(layout, 'index.json'), 'OCI layout');
  const manifests = index.manifests ?? [];
  const entry = tag ? manifests.find((m) => m.annotations?.[REF_NAME] === tag) : manifests[0];
  if (!entry) throw new BuildError(`OCI layout ${layout} has no image${tag ? ` tagged ${tag}` : ''}`);
  const manifestFile = blobPath(layout, entry.digest);
  let manifest: OciManifest;
  try {
    manifest = parseManifest(await readFile(manifestFile), manifestFile);
  } catch (err) {
    throw new BuildError(`image manifest: ${(err as Error).message}`);
  }
  const config = await readJson<ImageConfig>(blobPath(layout, manifest.config.digest), 'image config');
  return { manifestDigest: entry.digest, manifest, config };
}
