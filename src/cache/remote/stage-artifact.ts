import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { createTreeArchive, extractTreeArchive } from '../../fs/tree-archive.js';
import type { RegistryClient } from '../../registry/client.js';
import { OCI_MANIFEST, TITLE_ANNOTATION, type Descriptor, type OciManifest } from '../../registry/oci.js';
import type { EntryFiles, StageLink, StageMeta } from '../../pipeline/types.js';
import { VERSION } from '../../version.js';
import { STAGE_MEDIA_TYPES } from './media-types.js';

/**
 * A stage entry as an OCI artifact: a JSON config (stage, key, parent key, the entry's
 * meta.json), the root and boot trees as reproducible tar+zstd layers, and each artifact
 * file as a layer of its own, titled with its name. Same entry, same bytes, same digests:
 * a second push of an unchanged tree uploads nothing, and read-only stages (initrd, iso)
 * share their parent's tree layers.
 */
export interface StageConfig {
  isobuild: string;
  stage: string;
  key: string;
  parentKey: string | null;
  meta: StageMeta;
}

const TREES = ['rootfs', 'bootfs'] as const;
type Tree = (typeof TREES)[number];

export async function sha256File(file: string): Promise<Descriptor & { file: string }> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return { mediaType: '', digest: `sha256:${hash.digest('hex')}`, size: (await stat(file)).size, file };
}

export interface PushResult {
  /** Bytes sent to the registry (blobs it already had are not sent). */
  bytes: number;
  manifestDigest: string;
}

/**
 * Push one entry under `tag`. `trees` remembers the layer of each tree already archived in
 * this process (keyed by the tree's real path; entries never change once committed).
 */
export async function pushStageEntry(
  client: RegistryClient,
  tag: string,
  link: StageLink,
  entry: EntryFiles,
  scratch: string,
  sourceDateEpoch: number,
  trees: Map<string, Descriptor>,
): Promise<PushResult> {
  let bytes = 0;
  const layers: Descriptor[] = [];
  for (const tree of TREES) {
    const dir = entry[tree];
    const known = trees.get(dir);
    if (known && (await client.hasBlob(known.digest))) {
      layers.push(known);
      continue;
    }
    const file = join(scratch, `${tree}.tar.zst`);
    try {
      await createTreeArchive(dir, file, sourceDateEpoch, 'zstd');
      const { digest, size } = await sha256File(file);
      const layer: Descriptor = {
        mediaType: STAGE_MEDIA_TYPES[tree],
        digest,
        size,
        annotations: { [TITLE_ANNOTATION]: `${tree}.tar.zst` },
      };
      bytes += await client.pushBlob(layer, file);
      trees.set(dir, layer);
      layers.push(layer);
    } finally {
      await rm(file, { force: true });
    }
  }
  for (const name of await listFiles(entry.artifacts)) {
    const file = join(entry.artifacts, name);
    const { digest, size } = await sha256File(file);
    const layer: Descriptor = {
      mediaType: STAGE_MEDIA_TYPES.file,
      digest,
      size,
      annotations: { [TITLE_ANNOTATION]: name },
    };
    bytes += await client.pushBlob(layer, file);
    layers.push(layer);
  }
  const config: StageConfig = {
    isobuild: VERSION,
    stage: link.stage,
    key: link.key,
    parentKey: link.parentKey ?? null,
    meta: entry.meta,
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDescriptor: Descriptor = {
    mediaType: STAGE_MEDIA_TYPES.config,
    digest: `sha256:${createHash('sha256').update(configBytes).digest('hex')}`,
    size: configBytes.length,
  };
  bytes += await client.pushBlob(configDescriptor, configBytes);
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: STAGE_MEDIA_TYPES.artifact,
    config: configDescriptor,
    layers,
    annotations: { 'org.opencontainers.image.created': new Date(sourceDateEpoch * 1000).toISOString() },
  };
  const manifestDigest = await client.putManifest(tag, manifest);
  bytes += Buffer.byteLength(JSON.stringify(manifest));
  return { bytes, manifestDigest };
}

/**
 * Pull the entry tagged `tag` into `work` (rootfs/, bootfs/, artifacts/): every blob's
 * digest is checked before it is unpacked, and the config must name the stage and key asked
 * for. Returns the entry's meta.
 */
export async function pullStageEntry(
  client: RegistryClient,
  tag: string,
  link: StageLink,
  work: string,
): Promise<{ meta: StageMeta; bytes: number }> {
  const found = await client.getManifest(tag);
  if (!found) throw new Error(`no ${tag} in the registry`);
  const { manifest } = found;
  const where = `${client.ref.text}:${tag}`;
  if (manifest.config.mediaType !== STAGE_MEDIA_TYPES.config)
    throw new Error(`${where} is not an isobuild stage entry (config ${manifest.config.mediaType})`);
  const config = JSON.parse((await client.readBlob(manifest.config)).toString('utf8')) as StageConfig;
  if (config.stage !== link.stage || config.key !== link.key)
    throw new Error(`${where} holds ${config.stage}-${config.key}, not the entry its tag names`);
  let bytes = manifest.config.size;
  const artifacts = join(work, 'artifacts');
  await mkdir(artifacts);
  const treeLayers = new Map<Tree, Descriptor>();
  for (const layer of manifest.layers) {
    const tree = TREES.find((t) => STAGE_MEDIA_TYPES[t] === layer.mediaType);
    if (tree) {
      if (treeLayers.has(tree)) throw new Error(`${where} has two ${tree} layers`);
      treeLayers.set(tree, layer);
    } else if (layer.mediaType !== STAGE_MEDIA_TYPES.file)
      throw new Error(`${where}: unknown layer type ${layer.mediaType}`);
  }
  for (const tree of TREES) {
    const layer = treeLayers.get(tree);
    if (!layer) throw new Error(`${where} has no ${tree} layer`);
    const archive = join(work, `${tree}.tar.zst`);
    await client.pullBlob(layer, archive);
    bytes += layer.size;
    await mkdir(join(work, tree));
    await extractTreeArchive(archive, join(work, tree));
    await rm(archive);
  }
  for (const layer of manifest.layers.filter((l) => l.mediaType === STAGE_MEDIA_TYPES.file)) {
    const name = safeName(layer.annotations?.[TITLE_ANNOTATION], where);
    const dest = join(artifacts, name);
    await mkdir(join(dest, '..'), { recursive: true });
    await client.pullBlob(layer, dest);
    bytes += layer.size;
  }
  return { meta: config.meta, bytes };
}

/** A layer title is a path inside the artifacts folder: nothing absolute, nothing above it. */
function safeName(title: string | undefined, where: string): string {
  const name = title ? normalize(title) : '';
  if (!name || isAbsolute(name) || name === '..' || name.startsWith(`..${sep}`))
    throw new Error(`${where}: artifact layer with a bad title ${JSON.stringify(title)}`);
  return name;
}

/** Regular files under `dir`, as sorted relative paths. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(relative(dir, join(e.parentPath ?? e.path, e.name)));
  return out.sort();
}
