import { execa } from 'execa';
import { parseEvents } from '../helpers/json-events.js';
import { FIXTURE, makeFakeRepo, type FakeRepo } from './fake-build.js';

// The live progress display, checked where it lives: a fake build (real pipeline, real runner,
// a stage printing apt-like lines for ~1.5 s) under a real pseudo-terminal from script(1),
// then with stdout and stderr piped, then with --json.
let r: FakeRepo;
beforeEach(async () => {
  r = await makeFakeRepo();
});
afterEach(() => r.remove());

const ESC = '\x1b[';

test('on a terminal: one live line with stage, elapsed time, step and bytes, cleared at the end', async () => {
  const cmd = ['node', FIXTURE, r.cache, r.repo, 'progress'].map((a) => `'${a}'`).join(' ');
  const res = await execa('script', ['-qfec', cmd, '/dev/null'], { reject: false, env: { TERM: 'xterm' } });
  expect(res.exitCode).toBe(0);
  const screen = res.stdout;
  expect(screen).toContain('[1/3] iso-base 0 s · 2.6 MiB fetched · Get:1 libc6 2.36-9');
  // One count of the bytes: the Get line's size, then apt's Fetched line in its place.
  expect(screen).toContain('[1/3] iso-base 1 s · 2.6 MiB fetched · Setting up libc6:amd64 (2.36-9)');
  expect(screen).not.toMatch(/5\.\d MiB|Fetched/);
  // The plain "[1/3] iso-base..." line is replaced by the live one, which is erased (CSI 2K)
  // right before the usual built line.
  expect(screen).not.toContain('iso-base...');
  expect(screen).toContain(`${ESC}2K${ESC}G[1/3] iso-base: built in `);
  expect(screen.split(`${ESC}2K`).length).toBeGreaterThan(4);
});

test('not a terminal: plain lines only, no redraws', async () => {
  const res = await execa('node', [FIXTURE, r.cache, r.repo, 'progress'], { reject: false });
  expect(res.exitCode).toBe(0);
  expect(res.stderr.split('\n')).toEqual([
    '[1/3] iso-base...',
    expect.stringMatching(/^\[1\/3\] iso-base: built in \d+\.\d s$/),
    '[2/3] tether...',
    expect.stringMatching(/^\[2\/3\] tether: built in \d+\.\d s$/),
    '[3/3] iso...',
    expect.stringMatching(/^\[3\/3\] iso: built in \d+\.\d s$/),
  ]);
  expect(res.stderr).not.toContain('\x1b');
});

test('--json: throttled progress events that the event schema accepts', async () => {
  const res = await execa('node', [FIXTURE, r.cache, r.repo, 'progress'], {
    reject: false,
    env: { FAKE_JSON: '1' },
  });
  expect(res.exitCode).toBe(0);
  const events = parseEvents(res.stdout);
  const progress = events.filter((e) => e.type === 'progress');
  expect(progress.length).toBeGreaterThanOrEqual(2);
  // At most two a second: one at once, then at most one per 500 ms window.
  const last = progress.at(-1)!.elapsed as number;
  expect(progress.length).toBeLessThanOrEqual(Math.floor(last / 0.5) + 2);
  expect(progress.every((e) => e.stage === 'iso-base')).toBe(true);
  expect(progress.at(-1)).toMatchObject({ step: 'Setting up libc6:amd64 (2.36-9)', bytes: 2_757_000 });
  const times = progress.map((e) => e.elapsed as number);
  for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(0.4);
  // Every progress event lies between its stage's start and end.
  const types = events.map((e) => `${e.type}:${String(e.status ?? '')}`);
  expect(types.indexOf('stage:start')).toBeLessThan(types.indexOf('progress:'));
  expect(types.lastIndexOf('progress:')).toBeLessThan(types.indexOf('stage:built'));
});
