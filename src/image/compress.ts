import { rm } from 'node:fs/promises';
import { BuildError } from '../errors.js';
import type { DeclaredTool, HostTool } from '../exec/host-tools.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import type { KernelConfig } from '../kernel/kernel-config.js';
import type { Compression, CompressionChoice } from '../spec/types.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/**
 * How each compression is produced, and the kernel option that lets a kernel read it. Thread
 * counts are fixed because multi-threaded xz and zstd split their input differently from
 * single-threaded runs, and the same root must give the same bytes on any machine. xz needs
 * --check=crc32: the kernel's decoder has no CRC64; lz4 needs -l, the legacy frame, the only one
 * the kernel reads (level 4 is within 2% of -9's size at a third of its time).
 */
export const COMPRESSORS = {
  // Named output: lz4 writes to a stdout that is not a terminal when it is given one file only.
  lz4: {
    tool: 'lz4',
    suffix: '.lz4',
    args: ['-l', '-4', '-q', '-f'],
    kernelOption: 'CONFIG_RD_LZ4',
    namesOutput: true,
  },
  gzip: { tool: 'gzip', suffix: '.gz', args: ['-n', '-9', '-k', '-f'], kernelOption: 'CONFIG_RD_GZIP' },
  zstd: {
    tool: 'zstd',
    suffix: '.zst',
    args: ['-3', '-T1', '-q', '-k', '-f'],
    kernelOption: 'CONFIG_RD_ZSTD',
  },
  xz: {
    tool: 'xz',
    suffix: '.xz',
    args: ['--check=crc32', '-T1', '-6', '-k', '-f'],
    kernelOption: 'CONFIG_RD_XZ',
  },
} as const satisfies Record<
  Compression,
  { tool: HostTool; suffix: string; args: readonly string[]; kernelOption: string; namesOutput?: boolean }
>;

/**
 * `auto`'s order for an initrd, fastest boot first. Boot time is the kernel unpacking the initrd
 * before it can run /init: under TCG a 17 MiB bootstrap initrd unpacked in ~0.37 s from lz4 (as
 * fast as uncompressed), ~0.75 s from zstd, for a file 20% bigger (6.9 vs 5.8 MB). zstd packs
 * fastest (kernels from 5.9), gzip every kernel reads, xz is smallest but slow on both ends.
 */
export const AUTO_ORDER: readonly Compression[] = ['lz4', 'zstd', 'gzip', 'xz'];

/** The compressions a choice may end up as: what preflight and the cache key must cover. */
export function candidateCompressions(choice: CompressionChoice): readonly Compression[] {
  return choice === 'auto' ? AUTO_ORDER : [choice];
}

/** The compressors a stage may run for a choice, declared for its commands (`what`: the file). */
export function compressorCommands(choice: CompressionChoice, what: string): DeclaredTool[] {
  return candidateCompressions(choice).map((c) => ({
    tool: COMPRESSORS[c].tool,
    reason: `compress ${what} (${choice === 'auto' ? `auto: ${c} if the kernel reads it` : c})`,
    version: ['--version'],
  }));
}

export interface CompressionPick {
  compression: Compression;
  /** Why, for the log: which kernel option, or that the kernel had no config. */
  reason: string;
}

/**
 * The compression for a kernel: `auto` takes the first of AUTO_ORDER its config enables; an
 * explicit choice it cannot decompress is an error naming the missing option. Without a config
 * (a bare kernel image) `auto` takes gzip, which every initrd-capable kernel has.
 */
export function pickCompression(
  choice: CompressionChoice,
  config: KernelConfig | undefined,
  stage = 'initrd',
): CompressionPick {
  if (!config) {
    const compression = choice === 'auto' ? 'gzip' : choice;
    return { compression, reason: 'the kernel came without a config-<version>; not checked' };
  }
  const has = (c: Compression) => config.enabled.has(COMPRESSORS[c].kernelOption);
  if (choice !== 'auto') {
    if (has(choice)) return { compression: choice, reason: `${COMPRESSORS[choice].kernelOption}=y` };
    const readable = AUTO_ORDER.filter(has);
    throw new BuildError(
      `compression ${choice}: the kernel cannot decompress it, ${config.path} lacks ` +
        `${COMPRESSORS[choice].kernelOption}; use ${readable.length ? readable.join(' or ') : 'a kernel with CONFIG_RD_GZIP'} ` +
        `or compression: auto`,
      stage,
    );
  }
  const compression = AUTO_ORDER.find(has);
  if (!compression)
    throw new BuildError(
      `compression auto: ${config.path} enables none of ${AUTO_ORDER.map((c) => COMPRESSORS[c].kernelOption).join(', ')}`,
      stage,
    );
  return { compression, reason: `auto: ${COMPRESSORS[compression].kernelOption}=y` };
}

/** The command that compresses `file` into `file<suffix>`, as run and as `isobuild plan` shows it. */
export function compressCommand(compression: Compression, file: string): [string, string[]] {
  const c: (typeof COMPRESSORS)[Compression] = COMPRESSORS[compression];
  return [c.tool, [...c.args, file, ...('namesOutput' in c ? [file + c.suffix] : [])]];
}

/** Compresses `file` next to itself, removes the original and returns the new path. */
export async function compressFile(run: Runner, compression: Compression, file: string): Promise<string> {
  const [tool, args] = compressCommand(compression, file);
  await run(tool, args);
  await rm(file, { force: true });
  return file + COMPRESSORS[compression].suffix;
}
