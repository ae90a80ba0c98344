import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, SHIPPED_REPOS } from './fake-build.js';

// Fault rows on hostile spec files, through the real `isobuild validate`: each is a diagnostic
// with file:line:col and exit 2, quickly and in little memory, never an internal error.
const SHIPPED = join(SHIPPED_REPOS, 'debian-12');
let repos: string;
let repo: string;
beforeEach(async () => {
  repos = await mkdtemp(join(tmpdir(), 'isobuild-limits-'));
  repo = join(repos, 'debian-12');
  await mkdir(repo);
  for (const f of ['init.sh', 'staging.sh']) await copyFile(join(SHIPPED, f), join(repo, f));
});
afterEach(() => rm(repos, { recursive: true, force: true }));

const shipped = async () =>
  JSON.parse(await readFile(join(SHIPPED, 'repo-spec.json'), 'utf8')) as Record<string, unknown>;
const validate = async () => {
  const started = Date.now();
  const res = await execa(
    'node',
    ['--max-old-space-size=256', CLI, 'validate', '--repos', repos, 'debian-12'],
    {
      reject: false,
    },
  );
  return { ...res, ms: Date.now() - started };
};

test.each([
  [
    'nested 10⁴ deep (JSON)',
    'repo-spec.json',
    () => `{"name":"debian-12","x":${'['.repeat(1e4)}${']'.repeat(1e4)}}`,
    /repo-spec\.json:1:55 \/: nested more than 32 levels deep/,
  ],
  [
    'nested 200 deep (YAML blocks)',
    'repo-spec.yaml',
    () =>
      'name: debian-12\n' +
      Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') +
      ' x\n',
    /repo-spec\.yaml:\d+:\d+ \/: nested more than 32 levels deep/,
  ],
  [
    '25·10⁶ deep (a 50 MB file)',
    'repo-spec.json',
    () => `{"x":${'['.repeat(25e6)}${']'.repeat(25e6)}}`,
    /repo-spec\.json:1:1 \/: the file is 50000006 bytes; a repo spec may be at most 1048576 \(1 MiB\)/,
  ],
  [
    'a YAML alias bomb',
    'repo-spec.yaml',
    () => {
      const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
      for (let i = 1; i < 9; i++) {
        const [p, c] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
        lines.push(
          `${c}: &${c} [${Array(9)
            .fill('*' + p)
            .join(', ')}]`,
        );
      }
      return lines.join('\n') + '\nname: debian-12\n';
    },
    /repo-spec\.yaml:2:8 \/: aliases expand too far \(Excessive alias count.*at most 100\)/,
  ],
])('%s: a diagnostic, exit 2', async (_, name, text, message) => {
  await writeFile(join(repo, name), text());
  const res = await validate();
  expect(res.stderr).not.toMatch(/internal error|stack size/);
  expect(res.stderr).toMatch(message);
  expect(res.exitCode).toBe(2);
  expect(res.ms).toBeLessThan(15000);
});

test('a string package list with shell syntax is refused at validate time, as an array is', async () => {
  const spec = await shipped();
  spec.packages = { base: 'bash;touch /tmp/x coreutils', appliance: ['sudo', 'x|y'] };
  await writeFile(join(repo, 'repo-spec.json'), JSON.stringify(spec, null, 2));
  const res = await validate();
  expect(res.exitCode).toBe(2);
  expect(res.stderr).toMatch(
    /repo-spec\.json:\d+:\d+ \/packages\/base: "bash;touch" is not a valid apt package name/,
  );
  expect(res.stderr).toMatch(/\/packages\/base: "\/tmp\/x" is not a valid apt package name/);
  expect(res.stderr).toMatch(/\/packages\/appliance\/1: "x\|y" is not a valid apt package name/);
});

test.each([
  ['a 50 MB cmdline', 50 << 20, /the file is \d+ bytes; a repo spec may be at most 1048576/],
  ['a 5000-character cmdline', 5000, /\/cmdline: longer than 4096 characters/],
  ['a 2400-byte cmdline', 2400, /\/cmdline: 2400 bytes: the x86 kernel command line holds at most 2048/],
])('%s is refused (exit 2)', async (_, length, message) => {
  const spec = await shipped();
  spec.cmdline = 'x'.repeat(length);
  await writeFile(join(repo, 'repo-spec.json'), JSON.stringify(spec));
  const res = await validate();
  expect(res.stderr).toMatch(message);
  expect(res.exitCode).toBe(2);
  expect(res.ms).toBeLessThan(15000);
});
