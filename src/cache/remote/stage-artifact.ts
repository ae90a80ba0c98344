import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { RefusedEntryError } from '../../errors.js';
import { createTreeArchive, extractTreeArchive } from '../../fs/tree-archive.js';
import type { RegistryClient } from '../../registry/client.js';
import { OCI_MANIFEST, TITLE_ANNOTATION, type Descriptor, type OciManifest } from '../../registry/oci.js';
import type { EntryFiles, StageLink, StageMeta } from '../../stage/types.js';
import { VERSION } from '../../version.js';
import { sha256File } from '../../fs/hash.js';
import { MODE_ANNOTATION, STAGE_MEDIA_TYPES } from './media-types.js';
import { MANIFEST_FILE, writeManifest, type Manifest, type ManifestEntry } from '../cache-integrity.js';

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

export async function fileDescriptor(file: string): Promise<Descriptor & { file: string }> {
  return { mediaType: '', digest: `sha256:${await sha256File(file)}`, size: (await stat(file)).size, file };
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
      const { digest, size } = await fileDescriptor(file);
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
    const { digest, size } = await fileDescriptor(file);
    const mode = ((await stat(file)).mode & 0o7777).toString(8).padStart(4, '0');
    const layer: Descriptor = {
      mediaType: STAGE_MEDIA_TYPES.file,
      digest,
      size,
      annotations: { [TITLE_ANNOTATION]: name, [MODE_ANNOTATION]: mode },
    };
    bytes += await client.pushBlob(layer, file);
    layers.push(layer);
  }
  const builderManifest = await readFile(join(entry.dir, MANIFEST_FILE)).catch(() => undefined);
  if (builderManifest) {
    const layer: Descriptor = {
      mediaType: STAGE_MEDIA_TYPES.manifest,
      digest: `sha256:${createHash('sha256').update(builderManifest).digest('hex')}`,
      size: builderManifest.length,
      annotations: { [TITLE_ANNOTATION]: MANIFEST_FILE },
    };
    bytes += await client.pushBlob(layer, builderManifest);
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
  const where = `${client.ref.text}:${tag}`;
  if (!found) throw new RefusedEntryError(where, 'gone from the registry since it was looked up');
  const { manifest } = found;
  if (manifest.config.mediaType !== STAGE_MEDIA_TYPES.config)
    throw new RefusedEntryError(where, `not an isobuild stage entry (config ${manifest.config.mediaType})`);
  const config = parseJson<StageConfig>(await client.readBlob(manifest.config), where, 'config');
  if (config.stage !== link.stage || config.key !== link.key)
    throw new RefusedEntryError(where, `holds ${config.stage}-${config.key}, not the entry its tag names`);
  let bytes = manifest.config.size;
  const artifacts = join(work, 'artifacts');
  await mkdir(artifacts);
  const treeLayers = new Map<Tree, Descriptor>();
  for (const layer of manifest.layers) {
    const tree = TREES.find((t) => STAGE_MEDIA_TYPES[t] === layer.mediaType);
    if (tree) {
      if (treeLayers.has(tree)) throw new RefusedEntryError(where, `has two ${tree} layers`);
      treeLayers.set(tree, layer);
    } else if (layer.mediaType !== STAGE_MEDIA_TYPES.file && layer.mediaType !== STAGE_MEDIA_TYPES.manifest)
      throw new RefusedEntryError(where, `unknown layer type ${layer.mediaType}`);
  }
  for (const tree of TREES) {
    const layer = treeLayers.get(tree);
    if (!layer) throw new RefusedEntryError(where, `has no ${tree} layer`);
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
    await chmod(dest, parseMode(layer.annotations?.[MODE_ANNOTATION]));
    bytes += layer.size;
  }
  const builderLayer = manifest.layers.find((l) => l.mediaType === STAGE_MEDIA_TYPES.manifest);
  if (builderLayer) {
    const builder = parseJson<Manifest>(await client.readBlob(builderLayer), where, 'builder manifest');
    bytes += builderLayer.size;
    await writeFile(join(work, 'meta.json'), JSON.stringify(config.meta, null, 2) + '\n', { mode: 0o644 });
    const problems = compareWithBuilder(builder, await writeManifest(work, link.stage, link.key));
    if (problems.length)
      throw new RefusedEntryError(
        where,
        `unpacked, differs from what its builder committed: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
      );
  }
  return { meta: config.meta, bytes };
}

/**
 * The unpacked entry against the builder's manifest: every path, type, mode, owner, size and
 * digest, but not mtimes (archives clamp them to SOURCE_DATE_EPOCH). A tree the builder shared
 * with its parent (a link) came from the parent's layer, whose digest was checked.
 */
export function compareWithBuilder(builder: Manifest, pulled: Manifest): string[] {
  const problems: string[] = [];
  if (builder.meta !== pulled.meta) problems.push('meta.json differs');
  for (const tree of Object.keys(builder.trees) as (keyof Manifest['trees'])[]) {
    const want = builder.trees[tree];
    const have = pulled.trees[tree];
    if (!want || 'link' in want) continue;
    if (!have || 'link' in have) {
      problems.push(`${tree}: missing`);
      continue;
    }
    const strip = (e: ManifestEntry) => JSON.stringify([...e.slice(0, 6), e[7]]);
    const wanted = new Map(want.entries.map((e) => [e[0], strip(e)]));
    const found = new Map(have.entries.map((e) => [e[0], strip(e)]));
    for (const [path, w] of wanted) {
      const h = found.get(path);
      if (h === undefined) problems.push(`${tree}/${path}: missing`);
      else if (h !== w) problems.push(`${tree}/${path}: differs`);
    }
    for (const path of found.keys())
      if (!wanted.has(path)) problems.push(`${tree}/${path}: not in the builder's entry`);
  }
  return problems;
}

/** A JSON blob of the entry; one that does not parse is bad content, not a bug here. */
function parseJson<T>(bytes: Buffer, where: string, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new RefusedEntryError(where, `its ${what} is not JSON (${(err as Error).message})`, { cause: err });
  }
}

function parseMode(text: string | undefined): number {
  return text && /^[0-7]{3,4}$/.test(text) ? parseInt(text, 8) & 0o777 : 0o644;
}

/** A layer title is a path inside the artifacts folder: nothing absolute, nothing above it. */
function safeName(title: string | undefined, where: string): string {
  const name = title ? normalize(title) : '';
  if (!name || isAbsolute(name) || name === '..' || name.startsWith(`..${sep}`))
    throw new RefusedEntryError(where, `artifact layer with a bad title ${JSON.stringify(title)}`);
  return name;
}

/** Regular files under `dir`, as sorted relative paths. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(relative(dir, join(e.parentPath ?? e.path, e.name)));
  return out.sort();
}
