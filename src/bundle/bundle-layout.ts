import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import { BundleError } from '../errors.js';
import { sha256File } from '../fs/hash.js';
import { createTreeArchive, extractTreeArchive } from '../fs/tree-archive.js';
import { blobPath, writeIndex, writeJsonBlob } from '../oci/layout.js';
import { MEDIA_TYPES, REF_NAME } from '../oci/media-types.js';
import { isDigest, parseManifest, TITLE_ANNOTATION, type Descriptor } from '../registry/oci.js';

/** The bundle's artifact type and the media types of its parts (an OCI artifact, image-spec 1.1). */
export const BUNDLE_MEDIA_TYPES = {
  artifact: 'application/vnd.isobuild.bundle.v1',
  config: 'application/vnd.isobuild.bundle.config.v1+json',
  file: 'application/vnd.isobuild.bundle.file.v1',
} as const;

/** One file of a bundle: its name inside the bundle (`repo/init.sh`, `apt/archives/x.deb`) and where it is now. */
export interface BundleFile {
  readonly name: string;
  readonly from: string;
}

/** A bundle read back: every file checked against the manifest, by name. */
export interface OpenedBundle {
  /** The layout folder (the bundle itself, or where its tar was unpacked). */
  readonly layout: string;
  readonly config: unknown;
  /** name → the blob holding it. */
  readonly files: ReadonlyMap<string, string>;
  /** Removes what opening unpacked (nothing for a folder). */
  close(): Promise<void>;
}

/** A name inside the bundle must stay inside the folder it is extracted to. */
function checkName(name: string, bundle: string): string {
  const clean = normalize(name);
  if (!name || isAbsolute(name) || clean !== name || clean.startsWith('..'))
    throw new BundleError('not a plain relative file name', { bundle, file: name });
  return clean;
}

/**
 * Writes `files` and `config` as an OCI image layout (one manifest whose layers are the files,
 * each titled with its name), or its tar when `dest` ends in .tar. Files are sorted by name and
 * the tar is made as every isobuild tar is (sorted, numeric owners, mtimes at SOURCE_DATE_EPOCH),
 * so the same files give the same bytes. Built beside `dest` and renamed into place.
 */
export async function writeBundle(
  dest: string,
  files: readonly BundleFile[],
  config: unknown,
  o: { tag: string; sourceDateEpoch: number },
): Promise<string> {
  const target = resolve(dest);
  await mkdir(dirname(target), { recursive: true });
  const scratch = await mkdtemp(join(dirname(target), `.${basename(target)}.partial-`));
  try {
    const layout = join(scratch, 'layout');
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const layers: Descriptor[] = [];
    for (const file of sorted) {
      checkName(file.name, dest);
      const digest = `sha256:${await sha256File(file.from)}`;
      await copyFile(file.from, blobPath(layout, digest));
      const { size } = await stat(file.from);
      layers.push({
        mediaType: BUNDLE_MEDIA_TYPES.file,
        digest,
        size,
        annotations: { [TITLE_ANNOTATION]: file.name },
      });
    }
    const configBlob = await writeJsonBlob(layout, BUNDLE_MEDIA_TYPES.config, config);
    const manifest = await writeJsonBlob(layout, MEDIA_TYPES.manifest, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      artifactType: BUNDLE_MEDIA_TYPES.artifact,
      config: configBlob,
      layers,
    });
    await writeIndex(layout, manifest, o.tag);
    await rm(target, { recursive: true, force: true });
    if (target.endsWith('.tar')) {
      const tar = join(scratch, 'bundle.tar');
      await createTreeArchive(layout, tar, o.sourceDateEpoch);
      await rename(tar, target);
    } else {
      await rename(layout, target);
    }
    return manifest.digest;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A blob as the manifest describes it, or a BundleError naming the file it holds. */
async function checkBlob(layout: string, bundle: string, d: Descriptor, name: string): Promise<string> {
  if (!isDigest(d.digest))
    throw new BundleError(`"${d.digest}" is not a sha256 digest`, { bundle, file: name });
  const path = blobPath(layout, d.digest);
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile())
    throw new BundleError(`missing: the manifest lists it as ${d.digest}, and the bundle has no such blob`, {
      bundle,
      file: name,
    });
  const actual = `sha256:${await sha256File(path)}`;
  if (actual !== d.digest || st.size !== d.size)
    throw new BundleError(
      `changed: its blob is ${actual} (${st.size} bytes), the manifest says ${d.digest} (${d.size} bytes)`,
      { bundle, file: name },
    );
  return path;
}

async function readJson(path: string, bundle: string, name: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (err) {
    throw new BundleError(
      `cannot read it: ${(err as Error).message}`,
      { bundle, file: name },
      { cause: err },
    );
  }
}

/**
 * Opens a bundle written by writeBundle and checks, before anything uses it, that the manifest
 * the index names, the config and every file are there with the digest and size the manifest
 * gives them. A file changed or removed is refused with its name.
 */
export async function openBundle(path: string, scratchParent: string): Promise<OpenedBundle> {
  const bundle = resolve(path);
  const st = await stat(bundle).catch(() => undefined);
  if (!st) throw new BundleError('no such file or folder', { bundle });
  let layout = bundle;
  let unpacked: string | undefined;
  if (st.isFile()) {
    await mkdir(scratchParent, { recursive: true });
    unpacked = await mkdtemp(join(scratchParent, 'bundle-'));
    await extractTreeArchive(bundle, unpacked);
    layout = unpacked;
  }
  const close = () => (unpacked ? rm(unpacked, { recursive: true, force: true }) : Promise.resolve());
  try {
    const index = (await readJson(join(layout, 'index.json'), bundle, 'index.json')) as {
      manifests?: Descriptor[];
    };
    const entry = index.manifests?.[0];
    if (!entry) throw new BundleError('names no manifest', { bundle, file: 'index.json' });
    const manifestFile = await checkBlob(
      layout,
      bundle,
      entry,
      `manifest (${entry.annotations?.[REF_NAME] ?? ''})`,
    );
    const manifest = parseManifest(await readFile(manifestFile), manifestFile);
    if (manifest.artifactType !== BUNDLE_MEDIA_TYPES.artifact)
      throw new BundleError(`not an isobuild bundle (artifactType ${manifest.artifactType ?? 'none'})`, {
        bundle,
      });
    const config = await readJson(
      await checkBlob(layout, bundle, manifest.config, 'config'),
      bundle,
      'config',
    );
    const files = new Map<string, string>();
    for (const layer of manifest.layers) {
      const name = checkName(layer.annotations?.[TITLE_ANNOTATION] ?? '', bundle);
      files.set(name, await checkBlob(layout, bundle, layer, name));
    }
    return { layout, config, files, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Copies the bundle's files whose names start with `prefix` into `dir`, without the prefix. */
export async function extractFiles(opened: OpenedBundle, prefix: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const [name, blob] of opened.files) {
    if (!name.startsWith(prefix)) continue;
    const to = join(dir, name.slice(prefix.length));
    await mkdir(dirname(to), { recursive: true });
    await copyFile(blob, to);
    out.push(name);
  }
  return out;
}
