/** The parts of the OCI image spec the stage cache uses (image-spec v1.1). */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType: typeof OCI_MANIFEST;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** The annotation ORAS and others use for a layer's file name. */
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

/** Check a fetched manifest's shape before any of its digests is trusted as a path or URL. */
export function parseManifest(bytes: Buffer, where: string): OciManifest {
  const m = JSON.parse(bytes.toString('utf8')) as Partial<OciManifest>;
  const ok = (d: Partial<Descriptor> | undefined) =>
    d !== undefined && typeof d.mediaType === 'string' && isDigest(d.digest) && Number.isSafeInteger(d.size);
  if (m.schemaVersion !== 2 || !ok(m.config) || !Array.isArray(m.layers) || !m.layers.every(ok))
    throw new Error(`${where}: not an OCI image manifest`);
  return m as OciManifest;
}
