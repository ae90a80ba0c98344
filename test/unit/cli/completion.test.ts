import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checkCliBuilt, CLI, ROOT, runCli } from './run-cli.js';

beforeAll(checkCliBuilt);

/** Run bash's completion function as the shell would for the words typed so far. */
async function complete(words: string[]): Promise<string[]> {
  const script = [
    `isobuild() { node ${JSON.stringify(CLI)} --repos ${JSON.stringify(join(ROOT, 'repos'))} "$@"; }`,
    `eval "$(isobuild completion bash)"`,
    `COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}`,
    '_isobuild; printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const { stdout } = await promisify(execFile)('bash', ['-c', script], { cwd: ROOT });
  return stdout.split('\n').filter(Boolean);
}

test('bash: commands, repos and options complete', async () => {
  expect(await complete(['isobuild', 'val'])).toEqual(['validate']);
  expect(await complete(['isobuild', 'debian'])).toEqual(expect.arrayContaining(['debian-12']));
  expect(await complete(['isobuild', 'plan', 'pho'])).toEqual(
    expect.arrayContaining(['photon-1.0', 'photon-2.0']),
  );
  expect(await complete(['isobuild', 'clean', '--pack'])).toEqual(['--packages']);
});

test('bash: target names after -t and --target', async () => {
  expect(await complete(['isobuild', 'build', 'debian-12', '--target', 'fire'])).toEqual(['firecracker']);
  expect((await complete(['isobuild', 'plan', 'debian-12', '-t', 'rootfs'])).sort()).toEqual(
    expect.arrayContaining(['rootfs', 'rootfs-tar', 'rootfs-ext4', 'rootfs-squashfs']),
  );
});

test('zsh gets a script too; an unknown shell is a usage error', async () => {
  const zsh = await runCli(['completion', 'zsh'], ROOT);
  expect(zsh.code).toBe(0);
  expect(zsh.stdout).toMatch(/^#compdef isobuild/);
  expect(zsh.stdout).toContain('bashcompinit');
  const fish = await runCli(['completion', 'fish'], ROOT);
  expect(fish.code).toBe(2);
  expect(fish.stderr).toContain('"fish" is not bash or zsh');
});
