import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventsOfType, parseEvents } from '../../helpers/json-events.js';
import { checkCliBuilt, CLI, ROOT, runCli } from './run-cli.js';

beforeAll(checkCliBuilt);
const REPOS = join(ROOT, 'repos');

describe('usage errors name the nearest command', () => {
  test.each([
    [['valdate'], 'unknown command "valdate" and no such repo (did you mean "validate"?)'],
    [['help', 'lsit'], 'unknown command "lsit" (did you mean "list"?)'],
    [['plan', 'debian-12', 'extra'], "too many arguments for 'plan'"],
    [['list', 'extra'], "too many arguments for 'list'"],
    [['plan', '--targte', 'iso-base', 'debian-12'], "unknown option '--targte'"],
  ])('isobuild %j exits 2', async (args, message) => {
    const res = await runCli(['--repos', REPOS, ...args], ROOT);
    expect(res.stderr).toContain(message);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
  });

  test('a repo name in first place still builds it (plan shows the routing without building)', async () => {
    // `isobuild debain-12` is a typo of a repo, not of a command: the repo is suggested.
    const res = await runCli(['--repos', REPOS, 'debain-12'], ROOT);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('no repo "debain-12" in repos (did you mean "debian-12"?)');
  });

  test.each([
    [[], 'Usage: isobuild [options] [command]'],
    [['--repos', REPOS], 'Usage: isobuild [options] [command]'],
    [['cache'], 'Usage: isobuild cache [options] [command]'],
  ])(
    'isobuild %j (no command, a command group alone) prints the help on stdout and exits 0',
    async (args, usage) => {
      const res = await runCli(args, ROOT);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain(usage);
      expect(res.stderr).toBe('');
    },
  );

  test('help with a known command prints that command', async () => {
    const res = await runCli(['help', 'plan'], ROOT);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Usage: isobuild plan');
  });
});

describe('--json: errors are events on stdout', () => {
  test('plan debain-12 --json: one error event with the suggestion, nothing on stderr', async () => {
    const res = await runCli(['plan', 'debain-12', '--json', '--repos', REPOS], ROOT);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('');
    expect(parseEvents(res.stdout)).toEqual([
      {
        type: 'error',
        kind: 'usage',
        exitCode: 2,
        message: expect.stringContaining('(did you mean "debian-12"?)') as unknown,
      },
    ]);
  });

  test('a commander usage error is an error event too', async () => {
    const res = await runCli(['--json', 'plan', 'debian-12', 'extra'], ROOT);
    expect(res.code).toBe(2);
    expect(eventsOfType(res.stdout, 'error')[0]).toMatchObject({ kind: 'usage' });
  });
});

describe('doctor counts the same tools with and without --json', () => {
  test.each([[[]], [['debian-12']], [['photon-2.0']]])('doctor %j', async (extra) => {
    const human = await runCli(['doctor', '--repos', REPOS, ...extra], ROOT);
    const json = await runCli(['doctor', '--json', '--repos', REPOS, ...extra], ROOT);
    const checked = Number(/checked (\d+) host tools/.exec(human.stdout)?.[1]);
    const events = parseEvents(json.stdout);
    const summary = events.find((e) => e.type === 'doctor')!;
    expect(summary.checked).toBe(checked);
    expect(events.filter((e) => e.type === 'tool')).toHaveLength(checked);
    // Tools no build or command runs are not listed.
    const tools = events.filter((e) => e.type === 'tool').map((e) => e.tool);
    expect(tools).not.toContain('debootstrap');
    expect(tools).not.toContain('readelf');
  });
});

describe('the launcher checks the Node version before loading the CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-node-'));
    // Pretend to be Debian 12's Node 18: the launcher must refuse before importing anything.
    await writeFile(
      join(dir, 'node18.cjs'),
      "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '18.19.0' } });\n",
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('Node 18 gets a clear message and exit 1', async () => {
    const res = await promisify(execFile)('node', ['-r', join(dir, 'node18.cjs'), CLI, 'list']).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect('code' in res ? res.code : 0).toBe(1);
    expect(res.stderr).toContain('isobuild needs Node.js 20.3 or newer; this is Node.js 18.19.0');
    expect(res.stdout).toBe('');
  });
});
