import { OCI_MANIFEST } from '../registry/oci.js';

/** OCI image-spec media types isobuild writes and reads. */
export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: OCI_MANIFEST,
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** The annotation that names a manifest inside an OCI layout (its "tag"). */
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** OCI's name for the architecture this host builds for. */
export const HOST_ARCH = process.arch === 'x64' ? 'amd64' : process.arch;
