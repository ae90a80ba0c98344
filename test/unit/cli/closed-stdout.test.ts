import { spawn } from 'node:child_process';
import { checkCliBuilt, CLI, ROOT } from './run-cli.js';

beforeAll(checkCliBuilt);

/**
 * `isobuild build --help | head -1` where head has already gone: the pipe's reader is closed
 * before the CLI writes, so its first write meets EPIPE (a reader closing after one chunk races
 * with the CLI's writes and may see them all).
 */
function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stdout.destroy();
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('help written into a pipe its reader closed ends quietly with exit 0, no EPIPE trace', async () => {
  const res = await runIntoClosedPipe(['build', '--help']);
  expect(res.stderr).not.toContain('EPIPE');
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
});
