import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { withFileSystemErrors } from '../fs/fs-error.js';
import { measureTree } from '../fs/measure-tree.js';
import { bootFilesAsInstalled } from '../kernel/boot-files.js';
import { parseImageRef } from '../oci/image-ref.js';
import { exportOciImage } from '../oci/write-image.js';
import { loggerFor } from './events.js';
import { buildStages, type StagesRequest } from './stages.js';

/** `exportStageImage(request)`: `isobuild export`. */
export interface ExportImageRequest extends StagesRequest {
  stage: string;
  /** oci:DIR[:TAG] (a layout folder), oci-archive:FILE[:TAG], or containers-storage:NAME[:TAG]. */
  oci: string;
}

export interface ExportedImage {
  repo: string;
  stage: string;
  /** The transport of `oci`: oci, oci-archive or containers-storage. */
  format: string;
  /** The folder, file or image name written. */
  path: string;
  /** The image manifest's digest. */
  digest: string;
}

/** A stage's root (built, or taken from the cache) written as an OCI image. */
export async function exportStageImage(request: ExportImageRequest): Promise<ExportedImage> {
  const logger = loggerFor(request);
  const dest = parseImageRef(request.oci, process.cwd());
  const { spec, plan, result } = await buildStages({ ...request, logger });
  const version = result.final.meta.kernelVersion;
  const scratch = await mkdtemp(join(tmpdir(), 'isobuild-export-'));
  let digest: string;
  try {
    // The kernel's files go back under /boot in a layer of their own: the root's package
    // database lists the kernel, so an image built FROM this one finds it where it expects.
    const extraLayers: { dir: string; createdBy: string }[] = [];
    if (version) {
      await bootFilesAsInstalled(result.final.bootfs, version, join(scratch, 'boot-layer'));
      extraLayers.push({
        dir: join(scratch, 'boot-layer'),
        createdBy: `isobuild: kernel ${version} in /boot`,
      });
    }
    const rootfs = result.final.rootfs;
    digest = await withFileSystemErrors(
      {
        what: '--oci',
        ...(dest.transport === 'containers-storage' ? {} : { path: resolve(dest.path) }),
        neededBytes: async () => (await measureTree(rootfs)).bytes,
      },
      () =>
        exportOciImage(rootfs, dest, {
          sourceDateEpoch: plan.options.sourceDateEpoch,
          createdBy: `isobuild export ${spec.name} --stage ${request.stage}`,
          extraLayers,
          architecture: spec.arch,
        }),
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const where = dest.transport === 'containers-storage' ? dest.path : resolve(dest.path);
  const exported = { repo: spec.name, stage: request.stage, format: dest.transport, path: where, digest };
  logger.event(
    { type: 'export', ...exported },
    `exported the ${request.stage} root of ${spec.name} to ${dest.transport}:${where} (${digest})`,
  );
  return exported;
}
