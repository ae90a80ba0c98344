import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { run } from '../exec/run.js';
import { createTreeArchive } from '../fs/tree-archive.js';
import type { ImageRef } from './image-ref.js';
import { writeIndex, writeJsonBlob, writeLayerBlob } from './layout.js';
import { HOST_ARCH, MEDIA_TYPES } from './media-types.js';

/** Where `isobuild export --oci` may write: a layout folder, an archive, or the host's image store. */
export const EXPORT_TRANSPORTS = ['oci', 'oci-archive', 'containers-storage'] as const;

export interface ExportImageOptions {
  sourceDateEpoch: number;
  /** Said in the image's history, e.g. `isobuild export debian-12 --stage staging`. */
  createdBy: string;
  /** Folders laid over the root as further layers, each with what it is for the history. */
  extraLayers?: readonly { dir: string; createdBy: string }[];
  /** The config's architecture: the spec's (an arm64 root is an arm64 image). Default: the host's. */
  architecture?: string;
}

/**
 * Write a root as a one-layer OCI image (image-spec 1.0): a sorted tar with numeric owners and
 * mtimes clamped to SOURCE_DATE_EPOCH, gzip without name or date, a config whose dates are
 * SOURCE_DATE_EPOCH. The same root gives the same digests, so it can be the FROM of a
 * Dockerfile and a cache input. Built under a temp name beside the destination and renamed.
 */
export async function exportOciImage(
  rootfs: string,
  dest: ImageRef,
  opts: ExportImageOptions,
): Promise<string> {
  if (!(EXPORT_TRANSPORTS as readonly string[]).includes(dest.transport))
    throw new UsageError(
      `--oci ${dest.transport}: takes ${EXPORT_TRANSPORTS.map((t) => `${t}:`).join(', ')}`,
    );
  const tag = dest.tag ?? 'latest';
  const scratchParent = dest.transport === 'containers-storage' ? undefined : dirname(dest.path);
  // As every other output: the destination's folder is made when missing.
  if (scratchParent) await mkdir(scratchParent, { recursive: true });
  const scratch = await mkdtemp(
    scratchParent ? join(scratchParent, `.${basename(dest.path)}.partial-`) : join('/tmp', 'isobuild-oci-'),
  );
  try {
    const layout = join(scratch, 'layout');
    const sources = [{ dir: rootfs, createdBy: opts.createdBy }, ...(opts.extraLayers ?? [])];
    const layers = [];
    for (const source of sources) {
      const layerTar = join(scratch, 'layer.tar');
      await createTreeArchive(source.dir, layerTar, opts.sourceDateEpoch);
      layers.push(await writeLayerBlob(layout, layerTar));
      await rm(layerTar);
    }
    const created = new Date(opts.sourceDateEpoch * 1000).toISOString();
    const config = await writeJsonBlob(layout, MEDIA_TYPES.config, {
      created,
      architecture: opts.architecture ?? HOST_ARCH,
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: sources.map((s) => ({ created, created_by: s.createdBy })),
    });
    const manifest = await writeJsonBlob(layout, MEDIA_TYPES.manifest, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config,
      layers: layers.map((l) => l.descriptor),
    });
    await writeIndex(layout, manifest, tag);
    if (dest.transport === 'oci') {
      await rm(dest.path, { recursive: true, force: true });
      await rename(layout, dest.path);
    } else if (dest.transport === 'oci-archive') {
      const archive = join(scratch, 'image.tar');
      await createTreeArchive(layout, archive, opts.sourceDateEpoch);
      await rename(archive, dest.path);
    } else {
      await run('skopeo', ['copy', '--quiet', `oci:${layout}:${tag}`, `containers-storage:${dest.path}`]);
    }
    return manifest.digest;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
