import { rm } from 'node:fs/promises';
import type { HostTool } from '../exec/host-tools.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import type { Compression } from '../spec/types.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/**
 * How each compression is produced. Thread counts are fixed because multi-threaded xz and
 * zstd split their input differently from single-threaded runs, and the same root must give
 * the same bytes on any machine. xz needs --check=crc32: the kernel's decoder has no CRC64.
 */
export const COMPRESSORS = {
  gzip: { tool: 'gzip', suffix: '.gz', args: ['-n', '-9', '-k', '-f'] },
  zstd: { tool: 'zstd', suffix: '.zst', args: ['-3', '-T1', '-q', '-k', '-f'] },
  xz: { tool: 'xz', suffix: '.xz', args: ['--check=crc32', '-T1', '-6', '-k', '-f'] },
} as const satisfies Record<Compression, { tool: HostTool; suffix: string; args: readonly string[] }>;

/** The command that compresses `file` into `file<suffix>`, as run and as `isobuild plan` shows it. */
export function compressCommand(compression: Compression, file: string): [string, string[]] {
  const c = COMPRESSORS[compression];
  return [c.tool, [...c.args, file]];
}

/** Compresses `file` next to itself, removes the original and returns the new path. */
export async function compressFile(run: Runner, compression: Compression, file: string): Promise<string> {
  const [tool, args] = compressCommand(compression, file);
  await run(tool, args);
  await rm(file, { force: true });
  return file + COMPRESSORS[compression].suffix;
}
