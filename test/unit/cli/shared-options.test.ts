import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCliBuilt, ROOT, runCli } from './run-cli.js';

// The option sets src/cli/options.ts declares once: every command that takes one parses it the
// same way, before any work (exit 2, nothing cached).
beforeAll(checkCliBuilt);
let cache: string;
beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'isobuild-shared-options-'));
});
afterEach(() => rm(cache, { recursive: true, force: true }));

const cli = (args: string[]) =>
  runCli(['--repos', join(ROOT, 'repos'), ...args], ROOT, { ISOBUILD_CACHE: cache });

test.each([
  [['build', 'debian-12']],
  [['export', 'debian-12', '--stage', 'staging', '--oci', `oci:${join(tmpdir(), 'never-written')}`]],
  [['shell', 'debian-12', '--', 'true']],
  [['lock', 'debian-12']],
])('%j --lock-timeout soon is a usage error before any work', async (args) => {
  const res = await cli([...args.slice(0, 2), '--lock-timeout', 'soon', ...args.slice(2)]);
  expect(res.stderr).toContain('--lock-timeout takes seconds');
  expect(res.code).toBe(2);
  expect(await readdir(cache)).toEqual([]);
});

test.each([[['export', 'debian-12', '--stage', 'staging', '--oci', 'oci:x']], [['shell', 'debian-12']]])(
  '%j --target nope names the targets',
  async (args) => {
    const res = await cli([...args, '--target', 'nope']);
    expect(res.stderr).toContain('unknown target "nope"; targets: iso-base,');
    expect(res.code).toBe(2);
  },
);

test.each([['boot'], ['run']])(
  '%s shares the VM options: --accel is checked the same way',
  async (command) => {
    const res = await cli([
      command,
      join(tmpdir(), 'no-such.iso'),
      '--accel',
      'hvf',
      ...(command === 'run' ? ['--', 'true'] : []),
    ]);
    expect(res.stderr).toContain('--accel hvf: tcg or kvm');
    expect(res.code).toBe(2);
  },
);
