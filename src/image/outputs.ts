import { lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MICROVM_FILES } from '../microvm/vm-config.js';
import { MICROVM_INIT } from '../microvm/layout.js';
import { exportRoot } from '../fs/export-root.js';
import { defaultOutputPath } from '../stage/targets.js';
import { removeTree } from '../fs/fs-tree.js';
import { BuildError, UsageError } from '../errors.js';
import { withFileSystemErrors } from '../fs/fs-error.js';
import { measureTree } from '../fs/measure-tree.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { BuildPlan, OutputFormat, StageName } from '../stage/types.js';
import { ARTIFACTS } from './artifacts.js';
import { copyInto } from './files.js';
import { tempSibling } from '../fs/replace-file.js';
import { sha256File } from '../fs/hash.js';
import { RAW_DISK_ARTIFACT, writeDiskFormat } from './disk-write.js';
import type { DiskFormatName } from './disk-formats.js';
import { ovaOutputReads, writeOvaOutput } from './ova-output.js';

/** The files of a kernel+initrd output folder. */
export const INITRD_FILES = {
  kernel: ARTIFACTS.kernel,
  initrd: ARTIFACTS.initrd,
  cmdline: ARTIFACTS.cmdline,
};

/**
 * One writer per output format (linuxkit's outFuns): which stage's artifacts it needs, and how
 * it puts them at the destination (the default destination is the target's, stage/targets.ts). Writers build under a temp name beside the destination and
 * rename, so a failed build never leaves a partial output.
 */
export interface OutputWriter {
  /** The last stage whose artifacts (or root) the writer reads. */
  readonly stage: StageName;
  /** What it copies (files or folders): their size is what a full disk is told it needs. */
  reads(source: OutputSource, plan: BuildPlan): string[];
  write(source: OutputSource, dest: string, plan: BuildPlan): Promise<void>;
}

/** What the last stage left: its artifacts folder and the root it built on. */
export interface OutputSource {
  artifacts: string;
  rootfs?: string;
}

async function needArtifact(artifactsDir: string, name: string, format: OutputFormat): Promise<string> {
  const path = join(artifactsDir, name);
  if (!(await stat(path).catch(() => undefined)))
    throw new BuildError(`output ${format}: ${path} is missing (did the build stop early?)`);
  return path;
}

/**
 * An output that is one file copied from the artifacts. A destination that already holds the
 * same bytes (a no-op rebuild) is left as it is: comparing reads it once, a copy writes it and
 * the build's digest of the output then reads it again. `build --force` always rewrites it.
 */
function singleFile(name: string, format: OutputFormat) {
  return async (source: OutputSource, dest: string, plan: BuildPlan): Promise<void> => {
    const file = await needArtifact(source.artifacts, name, format);
    const st = await stat(dest).catch(() => undefined);
    if (st?.isDirectory()) throw new UsageError(`output ${dest} is a folder; name the ${format} file`);
    // lstat: a link at the destination is replaced by the file, as before.
    const here = await lstat(dest).catch(() => undefined);
    if (
      !plan.options.force &&
      here?.isFile() &&
      here.size === (await stat(file)).size &&
      (await sameContents(file, dest))
    )
      return;
    await mkdir(dirname(dest), { recursive: true });
    await copyInto(file, dest);
  };
}

async function sameContents(a: string, b: string): Promise<boolean> {
  return (await sha256File(a)) === (await sha256File(b));
}

/** Only a folder that is empty or holds nothing but a previous output of ours is replaced. */
async function checkReplaceable(dest: string, ours: ReadonlySet<string>): Promise<boolean> {
  const st = await stat(dest).catch(() => undefined);
  if (!st) return false;
  if (!st.isDirectory()) throw new UsageError(`output ${dest} exists and is not a folder`);
  const others = (await readdir(dest)).filter((n) => !ours.has(n));
  if (others.length)
    throw new UsageError(
      `output ${dest} holds other files (${others.slice(0, 3).join(', ')}); not replacing it: name an empty or new folder`,
    );
  return true;
}

/**
 * A folder of artifacts (kernel+initrd, the microVM folder): built beside the destination and
 * renamed into place. `optional` files are copied when the build made them.
 */
async function writeFolder(
  artifactsDir: string,
  dest: string,
  format: OutputFormat,
  names: readonly string[],
  optional: readonly string[] = [],
): Promise<void> {
  const sources = await Promise.all(names.map((n) => needArtifact(artifactsDir, n, format)));
  for (const n of optional) {
    const path = join(artifactsDir, n);
    if (await stat(path).catch(() => undefined)) sources.push(path);
  }
  const replacing = await checkReplaceable(dest, new Set([...names, ...optional]));
  await mkdir(dirname(dest), { recursive: true });
  const tmp = tempSibling(dest);
  try {
    await mkdir(tmp);
    for (const src of sources) await copyInto(src, join(tmp, src.slice(artifactsDir.length + 1)));
    if (replacing) {
      // A folder cannot be renamed over a non-empty one: move the old aside first.
      const old = tempSibling(dest);
      await rename(dest, old);
      await rename(tmp, dest);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, dest);
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

function writeKernelInitrd(source: OutputSource, dest: string): Promise<void> {
  return writeFolder(source.artifacts, dest, 'kernel+initrd', Object.values(INITRD_FILES));
}

/** Firecracker's folder: vmlinux, the root image, vm-config.json, and the initrd when the kernel needs one. */
function firecrackerFiles(plan: BuildPlan): { names: string[]; optional: string[] } {
  const disk = plan.microvm?.disk;
  if (!disk) throw new UsageError(`target ${plan.target} makes no root image for a firecracker folder`);
  return {
    names: [MICROVM_FILES.kernel, MICROVM_FILES.rootfs[disk], MICROVM_FILES.config],
    optional: [MICROVM_FILES.initrd],
  };
}

async function writeFirecracker(source: OutputSource, dest: string, plan: BuildPlan): Promise<void> {
  const { names, optional } = firecrackerFiles(plan);
  await writeFolder(source.artifacts, dest, 'firecracker', names, optional);
}

/**
 * The root as a folder (osbuilder's rootfs) or a tarball (sorted, numeric owners, mtimes
 * clamped). A folder is replaced only when it holds a previous root of ours.
 */
async function writeRoot(source: OutputSource, dest: string, plan: BuildPlan): Promise<void> {
  if (!source.rootfs) throw new BuildError(`output ${dest}: the build left no root to write`);
  if (!dest.endsWith('.tar')) {
    const entries = await readdir(dest).catch(() => [] as string[]);
    if (entries.length) {
      if (!(await stat(join(dest, MICROVM_INIT)).catch(() => undefined)))
        throw new UsageError(
          `output ${dest} holds other files; not replacing it: name an empty or new folder`,
        );
      await removeTree(dest);
    }
  }
  await exportRoot(source.rootfs, dest, plan.options.sourceDateEpoch);
}

function fileOutput(stage: StageName, name: string, format: OutputFormat): OutputWriter {
  return { stage, reads: (source) => [join(source.artifacts, name)], write: singleFile(name, format) };
}

const rootOutput: OutputWriter = {
  stage: 'tether',
  reads: (source) => (source.rootfs ? [source.rootfs] : []),
  write: writeRoot,
};

/** One format of the disk-image stage's GPT disk (qemu-img converts the raw one). */
function diskOutput(format: DiskFormatName): OutputWriter {
  return {
    stage: 'disk-image',
    reads: (source) => [join(source.artifacts, RAW_DISK_ARTIFACT)],
    write: (source, dest) => writeDiskFormat(source.artifacts, dest, format),
  };
}

/** Bytes of the files and folders given; missing ones count nothing. */
async function bytesOf(paths: readonly string[]): Promise<number> {
  let bytes = 0;
  for (const path of paths) {
    const st = await stat(path).catch(() => undefined);
    if (st?.isDirectory()) bytes += (await measureTree(path)).bytes;
    else if (st) bytes += st.size;
  }
  return bytes;
}

export const OUTPUT_WRITERS: Record<OutputFormat, OutputWriter> = {
  iso: fileOutput('iso', ARTIFACTS.iso, 'iso'),
  'kernel+initrd': {
    stage: 'initrd',
    reads: (source) => Object.values(INITRD_FILES).map((n) => join(source.artifacts, n)),
    write: writeKernelInitrd,
  },
  uki: fileOutput('uki', ARTIFACTS.uki, 'uki'),
  rootfs: rootOutput,
  'rootfs.tar': rootOutput,
  'rootfs.ext4': fileOutput('disk', MICROVM_FILES.rootfs.ext4, 'rootfs.ext4'),
  'rootfs.squashfs': fileOutput('disk', MICROVM_FILES.rootfs.squashfs, 'rootfs.squashfs'),
  vmlinux: fileOutput('disk', MICROVM_FILES.kernel, 'vmlinux'),
  vmlinuz: fileOutput('disk', MICROVM_FILES.bzImage, 'vmlinuz'),
  firecracker: {
    stage: 'disk',
    reads: (source, plan) => {
      const { names, optional } = firecrackerFiles(plan);
      return [...names, ...optional].map((n) => join(source.artifacts, n));
    },
    write: writeFirecracker,
  },
  raw: diskOutput('raw'),
  qcow2: diskOutput('qcow2'),
  vmdk: diskOutput('vmdk'),
  vhdx: diskOutput('vhdx'),
  vpc: diskOutput('vpc'),
  // The vmdk in an OVA with its OVF descriptor and manifest (docs/disk.md#ova).
  ova: {
    stage: 'disk-image',
    reads: (source) => ovaOutputReads(source.artifacts),
    write: (source, dest, plan) => writeOvaOutput(source.artifacts, dest, plan),
  },
};

/** Every output format, in the writers' order: the keys of their map, so no list restates it. */
export const OUTPUT_FORMATS = Object.keys(OUTPUT_WRITERS) as readonly OutputFormat[];

/** Rejects unknown formats before any work starts. */
export function checkOutputFormats(formats: readonly string[]): OutputFormat[] {
  const bad = formats.filter((f) => !(OUTPUT_FORMATS as readonly string[]).includes(f));
  if (bad.length)
    throw new UsageError(`unknown output format ${bad.join(', ')}: one of ${OUTPUT_FORMATS.join(', ')}`);
  return formats as OutputFormat[];
}

/**
 * Writes every output of the plan from the last stage's artifacts folder. `destinations`
 * overrides the default path per format. Returns the paths written, in the plan's order.
 */
export async function writeOutputs(
  plan: BuildPlan,
  source: OutputSource,
  destinations: Partial<Record<OutputFormat, string>> = {},
  logger: Logger = silentLogger,
): Promise<string[]> {
  const written: string[] = [];
  for (const format of plan.outputs) {
    const writer = OUTPUT_WRITERS[format];
    const dest = resolve(destinations[format] ?? defaultOutputPath(plan, format));
    // A full disk, a read-only folder, no permission: named with the output's path (and what it
    // needs); writers leave nothing partial behind.
    await withFileSystemErrors(
      { what: `output ${format}`, path: dest, neededBytes: () => bytesOf(writer.reads(source, plan)) },
      () => writer.write(source, dest, plan),
    );
    logger.info(`wrote ${format}: ${dest}`);
    written.push(dest);
  }
  return written;
}
