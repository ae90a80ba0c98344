/**
 * isobuild's own OCI media types: a stage entry is an OCI artifact (image-spec v1.1,
 * `artifactType`), so registries store it like any other and no runtime mistakes it for a
 * container image.
 */
export const STAGE_MEDIA_TYPES = {
  artifact: 'application/vnd.isobuild.stage.v1',
  config: 'application/vnd.isobuild.stage.config.v1+json',
  rootfs: 'application/vnd.isobuild.stage.rootfs.v1.tar+zstd',
  bootfs: 'application/vnd.isobuild.stage.bootfs.v1.tar+zstd',
  /** One file of the entry's artifacts folder (initrd.img, image.iso...), as is. */
  file: 'application/vnd.isobuild.stage.artifact.v1',
  /** The builder's per-entry manifest (cache/cache-integrity.ts): the pulled entry is checked against it. */
  manifest: 'application/vnd.isobuild.stage.manifest.v1+json',
} as const;

/** An artifact file's permission bits, octal: a blob has none of its own. */
export const MODE_ANNOTATION = 'vnd.isobuild.mode';

/** A stage's tag in the cache repository: its name and its cache key. */
export function stageTag(stage: string, key: string): string {
  return `${stage}-${key}`;
}
