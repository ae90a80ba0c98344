import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { clampTimes } from '../image/files.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { resolveInRoot } from '../rootfs/root-path.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** Compressed module suffixes and the command that turns each back into a plain .ko in place. */
const DECOMPRESSORS = {
  '.ko.xz': ['xz', ['-d', '-f', '-q']],
  '.ko.zst': ['zstd', ['-d', '-f', '-q', '--rm']],
  '.ko.gz': ['gzip', ['-d', '-f']],
} as const satisfies Record<string, readonly [string, readonly string[]]>;

export type ModuleSuffix = keyof typeof DECOMPRESSORS;
export const COMPRESSED_MODULE_SUFFIXES = Object.keys(DECOMPRESSORS) as ModuleSuffix[];

/** Files per decompressor run: enough to keep thousands of modules fast, short of ARG_MAX. */
const BATCH = 256;

/** The host folder of a kernel's modules inside the root. */
export async function modulesDirOf(root: string, version: string): Promise<string> {
  return resolveInRoot(root, `/lib/modules/${version}`);
}

/** Every file under `dir` (no link following), sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const entry of (await readdir(d, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

export function compressedSuffixOf(file: string): ModuleSuffix | undefined {
  return COMPRESSED_MODULE_SUFFIXES.find((s) => file.endsWith(s));
}

/**
 * Decompress .ko.xz / .ko.zst / .ko.gz modules in place (VIC issue 3858): the initrd is
 * compressed as a whole, modprobe in a minimal root may lack the decompressor, and depmod
 * then indexes plain .ko files. Returns how many files were decompressed.
 */
export async function decompressModules(root: string, version: string, run: Runner): Promise<number> {
  const files = await listFiles(await modulesDirOf(root, version));
  let count = 0;
  for (const suffix of COMPRESSED_MODULE_SUFFIXES) {
    const batch = files.filter((f) => f.endsWith(suffix));
    const [tool, args] = DECOMPRESSORS[suffix];
    for (let i = 0; i < batch.length; i += BATCH) {
      await run(tool, [...args, '--', ...batch.slice(i, i + BATCH)]);
    }
    count += batch.length;
  }
  return count;
}

/** Build modules.dep and friends for the root's kernel with the host's depmod. */
export async function runDepmod(
  root: string,
  version: string,
  run: Runner,
  stage: string | undefined,
  sourceDateEpoch: number,
): Promise<void> {
  await run('depmod', ['-b', root, version]);
  const dir = await modulesDirOf(root, version);
  const dep = join(dir, 'modules.dep');
  if (!(await lstat(dep).catch(() => undefined))?.isFile())
    throw new BuildError(`depmod -b ${root} ${version} wrote no ${dep}`, stage);
  // The index files carry the build's time otherwise: two builds of the same modules would
  // differ, and a stage's unchanged output could not be told from a changed one (early cutoff).
  for (const name of await readdir(dir))
    if (name.startsWith('modules.')) await clampTimes(join(dir, name), sourceDateEpoch);
}
