import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The real CLI, as users run it: `node dist/cli/main.js ...` (run `npm run build` first;
 * `make test` does). ISOBUILD_TEST_CLI may name another build of main.js.
 */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = process.env.ISOBUILD_TEST_CLI ?? join(ROOT, 'dist/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function checkCliBuilt(): Promise<void> {
  await access(CLI).catch(() => {
    throw new Error(`${CLI} is missing: run npm run build first`);
  });
}

export async function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
