import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BuildError, UsageError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { OUTPUT_FORMATS, type BuildPlan, type OutputFormat, type StageName } from '../pipeline/types.js';
import { ARTIFACTS } from './artifacts.js';
import { copyInto, tempSibling } from './files.js';

/** The files of a kernel+initrd output folder. */
export const INITRD_FILES = {
  kernel: ARTIFACTS.kernel,
  initrd: ARTIFACTS.initrd,
  cmdline: ARTIFACTS.cmdline,
};

/**
 * One writer per output format (linuxkit's outFuns): which stage's artifacts it needs, and how
 * it puts them at the destination. Writers build under a temp name beside the destination and
 * rename, so a failed build never leaves a partial output.
 */
export interface OutputWriter {
  /** The last stage whose artifacts the writer reads. */
  readonly stage: StageName;
  /** Where the output goes when the user names no destination. */
  defaultPath(plan: BuildPlan): string;
  write(artifactsDir: string, dest: string): Promise<void>;
}

async function needArtifact(artifactsDir: string, name: string, format: OutputFormat): Promise<string> {
  const path = join(artifactsDir, name);
  if (!(await stat(path).catch(() => undefined)))
    throw new BuildError(`output ${format}: ${path} is missing (did the build stop early?)`);
  return path;
}

async function writeIso(artifactsDir: string, dest: string): Promise<void> {
  const iso = await needArtifact(artifactsDir, ARTIFACTS.iso, 'iso');
  const st = await stat(dest).catch(() => undefined);
  if (st?.isDirectory()) throw new UsageError(`output ${dest} is a folder; name the ISO file`);
  await mkdir(dirname(dest), { recursive: true });
  await copyInto(iso, dest);
}

/** Only a folder that is empty or holds nothing but a previous kernel+initrd output is replaced. */
async function checkReplaceable(dest: string): Promise<boolean> {
  const st = await stat(dest).catch(() => undefined);
  if (!st) return false;
  if (!st.isDirectory()) throw new UsageError(`output ${dest} exists and is not a folder`);
  const ours = new Set<string>(Object.values(INITRD_FILES));
  const others = (await readdir(dest)).filter((n) => !ours.has(n));
  if (others.length)
    throw new UsageError(
      `output ${dest} holds other files (${others.slice(0, 3).join(', ')}); not replacing it: name an empty or new folder`,
    );
  return true;
}

async function writeKernelInitrd(artifactsDir: string, dest: string): Promise<void> {
  const sources = await Promise.all(
    Object.values(INITRD_FILES).map((n) => needArtifact(artifactsDir, n, 'kernel+initrd')),
  );
  const replacing = await checkReplaceable(dest);
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

export const OUTPUT_WRITERS: Record<OutputFormat, OutputWriter> = {
  iso: {
    stage: 'iso',
    defaultPath: (plan) => join(plan.options.outputDir, `${plan.target}-${plan.spec.name}.iso`),
    write: writeIso,
  },
  'kernel+initrd': {
    stage: 'initrd',
    defaultPath: (plan) => join(plan.options.outputDir, plan.spec.name),
    write: writeKernelInitrd,
  },
};

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
  artifactsDir: string,
  destinations: Partial<Record<OutputFormat, string>> = {},
  logger: Logger = silentLogger,
): Promise<string[]> {
  const written: string[] = [];
  for (const format of plan.outputs) {
    const writer = OUTPUT_WRITERS[format];
    const dest = resolve(destinations[format] ?? writer.defaultPath(plan));
    await writer.write(artifactsDir, dest);
    logger.info(`wrote ${format}: ${dest}`);
    written.push(dest);
  }
  return written;
}
