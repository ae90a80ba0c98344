import { join } from 'node:path';
import { BuildError } from '../errors.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import { exists } from '../fs/exists.js';
import { buildDockerfile } from '../oci/dockerfile.js';
import { copyImageToLayout } from '../oci/fetch-image.js';
import { formatImageRef } from '../oci/image-ref.js';
import { readImage } from '../oci/layout.js';
import { LOCAL_TAG } from '../oci/fetch-image.js';
import { unpackImage } from '../oci/unpack-image.js';
import { resolveInRoot } from '../rootfs/root-path.js';
import { APT_ROOT_COMMANDS, aptPackageManager } from './apt.js';
import { ociSpec } from './oci-spec.js';
import { installedDebPackages } from '../inventory/dpkg-status.js';
import { LockError } from '../errors.js';
import { ociInputs } from '../oci/cache-inputs.js';
import type { PackageManager, PmContext, PmSpec } from './types.js';

/**
 * packagemanager oci: the root is an OCI image, or the image a Dockerfile builds (firebuild's
 * way in). Nothing is installed at setup; later installs (the kernel by name, the flavours'
 * packages) go through the package manager the image itself carries, when isobuild can drive it.
 */
function source(spec: PmSpec) {
  if (!spec.oci) throw new BuildError('packagemanager oci needs "image" or "dockerfile" (see docs/oci.md)');
  return spec.oci;
}

async function importImage(ctx: PmContext): Promise<void> {
  const oci = source(ctx.spec);
  const layout = join(ctx.tmpDir, 'image');
  if (oci.kind === 'dockerfile') {
    ctx.logger.info(`building ${oci.path} with buildah (context: the repo folder)`);
    await buildDockerfile(
      {
        dockerfile: oci.path,
        context: oci.context,
        layout,
        tmpDir: ctx.tmpDir,
        sourceDateEpoch: ctx.sourceDateEpoch ?? 0,
      },
      ctx.run,
    );
  } else {
    ctx.logger.info(`reading the image ${formatImageRef(oci.ref)}`);
    await copyImageToLayout(oci.ref, layout, ctx.run);
  }
  const image = await readImage(layout, LOCAL_TAG);
  ctx.logger.info(`image ${image.manifestDigest}: ${image.manifest.layers.length} layers`);
  await unpackImage(layout, ctx.rootfs, ctx.tmpDir, ctx.run, ctx.stage);
}

/** The package manager the image carries that isobuild can drive, if any. */
async function imagePackageManager(ctx: PmContext): Promise<PackageManager | undefined> {
  if (await exists(await resolveInRoot(ctx.rootfs, '/var/lib/dpkg/status'))) return aptPackageManager;
  return undefined;
}

async function withImagePm(ctx: PmContext, what: string, fn: (pm: PackageManager) => Promise<void>) {
  const pm = await imagePackageManager(ctx);
  if (!pm)
    throw new BuildError(
      `${what}: the image has no package database isobuild can use (it drives dpkg/apt); install packages in the Dockerfile and give "kernel" as a .deb or .rpm file in the repo folder`,
      ctx.stage,
    );
  ctx.logger.info(`${what} with the image's own ${pm.name}`);
  await fn(pm);
}

export const ociPackageManager: PackageManager = {
  name: 'oci',
  ...ociSpec,
  // Installs after the import go through the image's dpkg/apt (the apt adapter).
  specFields: ['oci', 'apt', 'kernel', 'kernelInstall'],
  // Follows apt's: a dpkg root's clean is apt's.
  version: aptPackageManager.version,
  // The image's own dpkg/apt installs them.
  packageName: aptPackageManager.packageName,
  // isobuild drives only dpkg/apt inside an image (see withImagePm).
  purlType: 'deb',
  tools(spec) {
    const needs: DeclaredTool[] = [
      {
        tool: 'umoci',
        reason: "unpack the image's layers into the root (whiteouts, owners, modes)",
        version: ['--version'],
      },
    ];
    if (spec.oci?.kind === 'dockerfile')
      needs.push(
        { tool: 'buildah', reason: `build ${spec.oci.path} into an image`, version: ['--version'] },
        { tool: 'skopeo', reason: "read the Dockerfile's FROM images", version: ['--version'] },
      );
    else
      needs.push({
        tool: 'skopeo',
        reason: 'copy the image named by "image" into a local OCI layout',
        version: ['--version'],
      });
    // Packages asked on top of an image with a dpkg database go through the apt adapter.
    needs.push(...APT_ROOT_COMMANDS);
    return needs;
  },
  describe(spec, op, args) {
    const oci = spec.oci;
    switch (op) {
      case 'setup': {
        const get =
          oci?.kind === 'dockerfile'
            ? [
                `buildah --storage-driver vfs --root $TMP/buildah/root build --isolation chroot --timestamp \${SOURCE_DATE_EPOCH} --layers=false -f ${oci.path} -t localhost/isobuild-dockerfile ${oci.context}`,
                `buildah --storage-driver vfs --root $TMP/buildah/root push localhost/isobuild-dockerfile oci:$TMP/image:${LOCAL_TAG}`,
              ]
            : [`skopeo copy ${oci ? formatImageRef(oci.ref) : 'IMAGE'} oci:$TMP/image:${LOCAL_TAG}`];
        return [
          ...get,
          `umoci raw unpack --image $TMP/image:${LOCAL_TAG} $TMP/rootfs`,
          'merge $TMP/rootfs into ROOT',
        ];
      }
      case 'install':
      case 'script': {
        const lines = aptPackageManager.describe(spec, op, args);
        return lines.length
          ? ["# with the image's own dpkg database (images without one take no packages)", ...lines]
          : [];
      }
      // The image brings its own files; a kernel package comes through install.
      case 'download-kernel':
        return [];
      case 'clean':
        return ['# when the image has a dpkg database:', ...aptPackageManager.describe(spec, 'clean', [])];
    }
  },
  async sources(spec) {
    const image = spec.oci ? await ociInputs(spec.oci) : { files: [], values: {} };
    return { files: image.files, facts: image.values };
  },
  async setup(ctx, basePackages) {
    if (basePackages.length)
      throw new BuildError('an oci root is the image itself: leave packages.base empty', ctx.stage);
    await importImage(ctx);
  },
  async install(ctx, packages) {
    // What the image already has needs no package manager (and no network): a root exported
    // by isobuild lists its kernel package.
    const have = await installedDebPackages(ctx.rootfs);
    const missing = packages.filter((p) => !have.has(p));
    if (packages.length > missing.length)
      ctx.logger.info(`already in the image: ${packages.filter((p) => have.has(p)).join(' ')}`);
    if (missing.length)
      await withImagePm(ctx, `installing ${missing.join(' ')}`, (pm) => pm.install(ctx, missing));
  },
  // The image's package manager runs it: isobuild drives dpkg/apt there (withImagePm).
  checkScript: (args) => aptPackageManager.checkScript(args),
  runScript: (ctx, args) =>
    args.length
      ? withImagePm(ctx, `running "${args.join(' ')}"`, (pm) => pm.runScript(ctx, args))
      : Promise.resolve(),
  async clean(ctx) {
    const pm = await imagePackageManager(ctx);
    if (pm) await pm.clean(ctx);
  },
  // The image's own dpkg database, when it has one.
  listInstalled: (ctx) => aptPackageManager.listInstalled(ctx),
  listPackageFiles: (ctx) => aptPackageManager.listPackageFiles(ctx),
  querySources() {
    // Its packages come in the image, named by digest, not from sources isobuild could ask.
    throw new LockError(
      'packagemanager oci has no package sources to lock against: pin the image by digest (image@sha256:...)',
    );
  },
};
