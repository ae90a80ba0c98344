import { run } from '../exec/run.js';

/**
 * The first line a tool prints for its version, for cache keys: a new xorriso or zstd may
 * write different bytes. A missing tool gives 'missing' (preflight reports it properly).
 */
export async function readToolVersion(
  tool: string,
  args: readonly string[] = ['--version'],
): Promise<string> {
  try {
    const res = await run(tool, args, { allowFailure: true });
    const line = (res.stdout || res.stderr).split('\n').find((l) => l.trim() !== '');
    return `${tool}: ${line?.trim() ?? 'unknown'}`;
  } catch {
    return `${tool}: missing`;
  }
}
