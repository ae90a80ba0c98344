import { DOMParser } from '@xmldom/xmldom';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../../src/exec/run.js';
import { eventsOfType } from '../helpers/json-events.js';
import { sharedStageCache } from '../helpers/test-cache.js';

/**
 * `isobuild test` and budgets on the debian-12 sample, through the real CLI: the sample's own
 * tests boot its bootstrap ISO under BIOS (qemu TCG) and pass, a test whose pattern does not
 * match fails the run with its output shown, the JUnit file parses, and a 1 MiB initrd budget
 * stops the build after the initrd stage naming the biggest packages. One build (the first
 * `test` run, through the stage cache the suite shares); the later runs find every stage cached.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');

interface SpecTest {
  name: string;
  run: string;
  expect?: string;
}

let dir: string;
let specFile: string;
let sample: Record<string, unknown> & { tests: SpecTest[] };
let env: Record<string, string>;
let first: RunResult;

const cli = (args: string[]): Promise<RunResult> =>
  run('node', [CLI, ...args], {
    cwd: dir,
    env,
    timeoutMs: 1_500_000,
    allowFailure: true,
    stage: 'boot tests',
  });

/** The sample's spec with changes, for the next command. */
const writeSpec = (over: Record<string, unknown>) =>
  writeFile(specFile, JSON.stringify({ ...sample, ...over }, null, 4) + '\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-boot-tests-'));
  await cp(join(ROOT, 'repos', 'debian-12'), join(dir, 'repos', 'debian-12'), { recursive: true });
  specFile = join(dir, 'repos', 'debian-12', 'repo-spec.json');
  sample = JSON.parse(await readFile(specFile, 'utf8')) as typeof sample;
  env = { ISOBUILD_CACHE: sharedStageCache(), ISOBUILD_REPOS: join(dir, 'repos'), NO_COLOR: '1' };
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
  first = await cli(['test', 'debian-12', '--junit', 'results/junit.xml']);
}, 1_600_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("isobuild test debian-12 boots the bootstrap ISO under BIOS and passes each of the sample's tests", () => {
  expect(first.stderr).toContain('debian-12 bootstrap: booting');
  expect(sample.tests.length).toBeGreaterThanOrEqual(3);
  for (const t of sample.tests) expect(first.stderr).toContain(`PASS bootstrap: ${t.name} (`);
  expect(first.stderr).toMatch(/PASS bootstrap: boot in [\d.]+ s \(budget \d+ s\)/);
  expect(first.stderr).toContain(
    `debian-12: ${sample.tests.length + 1} of ${sample.tests.length + 1} passed`,
  );
  expect(first.stderr).not.toContain('FAIL');
  expect(first.exitCode).toBe(0);
});

test('the JUnit file parses with a real XML parser and has one case per test and the boot time', async () => {
  const errors: string[] = [];
  const doc = new DOMParser({
    onError: (level: string, msg: string) => void errors.push(`${level}: ${msg}`),
  }).parseFromString(await readFile(join(dir, 'results/junit.xml'), 'utf8'), 'text/xml');
  expect(errors).toEqual([]);
  const suites = Array.from(doc.documentElement!.getElementsByTagName('testsuite'));
  expect(
    suites.map((s) => [s.getAttribute('name'), s.getAttribute('tests'), s.getAttribute('failures')]),
  ).toEqual([['debian-12/bootstrap', String(sample.tests.length + 1), '0']]);
  const cases = Array.from(suites[0]!.getElementsByTagName('testcase'));
  expect(cases.map((c) => c.getAttribute('name'))).toEqual([...sample.tests.map((t) => t.name), 'boot time']);
  expect(doc.getElementsByTagName('failure').length).toBe(0);
  // The output is kept: the kernel line the third test read.
  const cmdline = cases.find((c) => c.getAttribute('name') === 'kernel command line')!;
  expect(cmdline.getElementsByTagName('system-out')[0]!.textContent).toContain('console=ttyS0,115200');
});

test('a test whose expect does not match fails with its output, the pattern and the exit shown; exit 1', async () => {
  await writeSpec({
    tests: [...sample.tests, { name: 'wrong kernel', run: 'uname -r', expect: '^2\\.6\\.' }],
  });
  const res = await cli(['test', 'debian-12']);
  expect(res.exitCode).toBe(1);
  for (const t of sample.tests) expect(res.stderr).toContain(`PASS bootstrap: ${t.name}`);
  const fail = res.stderr.slice(res.stderr.indexOf('FAIL bootstrap: wrong kernel'));
  expect(fail).toMatch(
    /^FAIL bootstrap: wrong kernel: output does not match \/\^2\\\.6\\\.\/\n {2}\$ uname -r\n {2}expected: exit 0, output matching \/\^2\\\.6\\\.\/\n {2}got: exit 0\n {2}output:\n {4}6\.1\.\d+-\d+-cloud-amd64\n/,
  );
  expect(res.stderr).toContain(
    `debian-12: ${sample.tests.length + 1} of ${sample.tests.length + 2} passed, 1 failed`,
  );
});

test('a 1 MiB initrd budget fails the build after the initrd stage, naming the biggest packages; no output written', async () => {
  await writeSpec({ budget: { initrd: '1MiB' } });
  const res = await cli(['--json', 'build', 'debian-12', '--bin', 'over']);
  expect(res.exitCode).toBe(1);
  const [error] = eventsOfType(res.stdout, 'error') as unknown as {
    kind: string;
    stage: string;
    message: string;
    budget: string;
    limit: number;
    actual: number;
    contributors: { name: string; bytes: number; shrinkBytes: number }[];
  }[];
  expect(error).toMatchObject({ kind: 'budget', stage: 'initrd', budget: 'initrd', limit: 1024 * 1024 });
  expect(error!.actual).toBeGreaterThan(1024 * 1024);
  expect(error!.contributors).toHaveLength(10);
  const names = error!.contributors.map((c) => c.name);
  // The kernel's modules and libc are the biggest packages of the small initrd.
  expect(names).toEqual(expect.arrayContaining([expect.stringMatching(/^linux-image-/), 'libc6']));
  for (const c of error!.contributors) expect(c.shrinkBytes).toBeLessThanOrEqual(c.bytes);
  expect(error!.message).toMatch(/the initrd is [\d.]+ MiB, over budget\.initrd \(1\.0 MiB\) by/);
  expect(error!.message).toMatch(/\n {4}linux-image-\S+ +[\d.]+ MiB {3}shrink by [\d.]+ MiB\n/);
  // The stages after initrd never ran and nothing was written.
  const stages = eventsOfType(res.stdout, 'stage') as unknown as { stage: string }[];
  expect(stages.map((s) => s.stage)).not.toContain('iso');
  expect(eventsOfType(res.stdout, 'output')).toEqual([]);
  await expect(stat(join(dir, 'over'))).rejects.toThrow(/ENOENT/);
});
