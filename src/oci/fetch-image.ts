import { createHash } from 'node:crypto';
import { BuildError } from '../errors.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { formatImageRef, isRemote, type ImageRef } from './image-ref.js';
import { readImage } from './layout.js';
import { registryHostOf, withRegistryAuth } from '../registry/credentials.js';
import { HOST_ARCH } from './media-types.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** The tag isobuild gives an image inside its own scratch layouts. */
export const LOCAL_TAG = 'image';

/**
 * Copy an image from any transport skopeo knows into a local OCI layout, then check that it is
 * for this host's architecture. A docker:// reference is the only one that needs a network.
 */
export async function copyImageToLayout(ref: ImageRef, layout: string, run: Runner): Promise<string> {
  const source = formatImageRef(ref);
  const res = await withAuth(ref, (auth) =>
    run('skopeo', ['copy', '--quiet', ...auth, source, `oci:${layout}:${LOCAL_TAG}`], { allowFailure: true }),
  );
  if (res.exitCode !== 0) throw new BuildError(`cannot read the image ${source}: ${reason(ref, res.all)}`);
  const image = await readImage(layout, LOCAL_TAG);
  checkArchitecture(source, image.config.architecture);
  return image.manifestDigest;
}

export function checkArchitecture(source: string, arch: string | undefined): void {
  if (arch && arch !== HOST_ARCH)
    throw new BuildError(
      `the image ${source} is for ${arch}; this build makes ${HOST_ARCH} images (build or pull the ${HOST_ARCH} variant)`,
    );
}

/**
 * The digest of an image's manifest without copying it (containers-storage and registry
 * references: the file transports are hashed as files instead).
 */
export async function inspectDigest(ref: ImageRef, run: Runner): Promise<string> {
  const source = formatImageRef(ref);
  const res = await withAuth(ref, (auth) =>
    run('skopeo', ['inspect', '--raw', ...auth, source], { allowFailure: true }),
  );
  if (res.exitCode !== 0) throw new BuildError(`cannot resolve the image ${source}: ${reason(ref, res.all)}`);
  return `sha256:${createHash('sha256').update(res.stdout).digest('hex')}`;
}

/** A registry reference's login, as the stage cache finds it (src/registry/credentials.ts). */
function withAuth<T>(ref: ImageRef, fn: (auth: string[]) => Promise<T>): Promise<T> {
  return isRemote(ref) ? withRegistryAuth(registryHostOf(ref.path), fn) : fn([]);
}

function reason(ref: ImageRef, output: string): string {
  const last = output.trim().split('\n').at(-1) ?? '';
  if (isRemote(ref))
    return `a docker:// reference needs its registry, which did not answer (offline?); export the image to an oci-archive and name that instead\n  ${last}`;
  return last || 'skopeo failed';
}
