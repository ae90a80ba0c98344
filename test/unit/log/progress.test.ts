import { jest } from '@jest/globals';
import type { LogEvent, Logger } from '../../../src/log/logger.js';
import {
  formatLiveLine,
  progressModeFor,
  withProgress,
  type LiveDisplay,
} from '../../../src/log/progress.js';

/** A base logger that records what reaches it: events (with their human text) and lines. */
function recorder() {
  const events: { ev: LogEvent; human?: string }[] = [];
  const lines: string[] = [];
  const base: Logger = {
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
    event: (ev, human) => events.push({ ev, human }),
    output: () => {},
    attachFile: () => {},
    detachFile: async () => {},
  };
  return { base, events, lines };
}

/** A screen that keeps what the live line shows now and every frame drawn. */
function screen() {
  const frames: string[] = [];
  let shown: string | undefined;
  const display: LiveDisplay = {
    render: (t) => {
      frames.push(t);
      shown = t;
    },
    clear: () => (shown = undefined),
  };
  return { display, frames, shown: () => shown };
}

let clock = 0;
const now = () => clock;
beforeEach(() => {
  clock = 1_000_000;
  jest.useFakeTimers({ now: clock });
});
afterEach(() => jest.useRealTimers());

const start = { type: 'stage', stage: 'iso-base', status: 'start', key: 'k' };
const built = { type: 'stage', stage: 'iso-base', status: 'built', key: 'k', seconds: 3 };
const advance = (ms: number) => {
  clock += ms;
  jest.advanceTimersByTime(ms);
};

test('--json: progress events at most one per 500 ms per stage, the last change never lost', () => {
  const { base, events } = recorder();
  const log = withProgress(base, 'json', { now });
  log.event(start, '[1/3] iso-base...');
  // 20 package lines within 100 ms: one event at once, then one at the end of the window.
  for (let i = 0; i < 20; i++) {
    log.output(`Unpacking pkg${i} (1.0) ...\n`);
    advance(5);
  }
  log.output('Fetched 2,757 kB in 1s (2,757 kB/s)\n');
  const progress = () => events.filter((e) => e.ev.type === 'progress').map((e) => e.ev);
  expect(progress()).toEqual([
    { type: 'progress', stage: 'iso-base', elapsed: 0, step: 'Unpacking pkg0 (1.0)' },
  ]);
  advance(400);
  expect(progress()).toHaveLength(2);
  expect(progress()[1]).toEqual({
    type: 'progress',
    stage: 'iso-base',
    elapsed: 0.5,
    // The Fetched line is a count, not a step: the step stays the last one.
    step: 'Unpacking pkg19 (1.0)',
    bytes: 2_757_000,
  });
  // A change after the stage ended is not reported, and nothing is pending.
  log.output('Setting up late (1) ...\n');
  log.event(built, '[1/3] iso-base: built in 3.0 s');
  advance(2000);
  expect(progress()).toHaveLength(2);
  expect(events.at(-1)).toEqual({ ev: built, human: '[1/3] iso-base: built in 3.0 s' });
});

test('live: one redrawn line standing in for "[n/N] stage...", cleared before the built line', () => {
  const { base, events, lines } = recorder();
  const s = screen();
  const log = withProgress(base, 'live', { now, display: s.display, liveIntervalMs: 100 });
  log.event(start, '[1/3] iso-base...');
  expect(events[0]).toEqual({ ev: start, human: undefined });
  expect(s.shown()).toBe('[1/3] iso-base 0 s');
  log.debug('$ mmdebstrap --variant=essential bookworm root');
  advance(150);
  log.output('Get:1 http://mirror.invalid/debian bookworm/main amd64 libc6 amd64 2.36-9 [2,757 kB]\n');
  expect(s.shown()).toBe('[1/3] iso-base 0 s · 2.6 MiB fetched · Get:1 libc6 2.36-9');
  advance(1000);
  // The elapsed time ticks without new output.
  expect(s.shown()).toBe('[1/3] iso-base 1 s · 2.6 MiB fetched · Get:1 libc6 2.36-9');
  // Other lines print above the live line, which is drawn again after them.
  log.warn('a warning');
  expect(lines).toContain('warn a warning');
  expect(s.shown()).toMatch(/^\[1\/3\] iso-base 1 s/);
  log.event(built, '[1/3] iso-base: built in 3.0 s');
  expect(s.shown()).toBeUndefined();
  expect(events.at(-1)).toEqual({ ev: built, human: '[1/3] iso-base: built in 3.0 s' });
  const drawn = s.frames.length;
  advance(5000);
  expect(s.frames).toHaveLength(drawn);
});

test('off (not a terminal, --quiet): the logger is passed through unchanged', () => {
  const { base } = recorder();
  expect(withProgress(base, 'off')).toBe(base);
  const tty = { isTTY: true } as NodeJS.WriteStream;
  const pipe = { isTTY: false } as NodeJS.WriteStream;
  expect(progressModeFor({}, pipe)).toBe('off');
  expect(progressModeFor({ quiet: true }, tty)).toBe('off');
  expect(progressModeFor({ json: true }, pipe)).toBe('json');
});

test('the live line never wraps: it is cut to the terminal width', () => {
  const line = formatLiveLine({ label: '[2/6] staging', step: 'Setting up ' + 'x'.repeat(200) }, 65_000, 40);
  expect(line.length).toBeLessThan(40);
  expect(line.startsWith('[2/6] staging 65 s · Setting up')).toBe(true);
});

test('live: apt fetching twice over shows one byte count, the packages, percent and time left', () => {
  const { base } = recorder();
  const s = screen();
  const log = withProgress(base, 'live', { now, display: s.display, liveIntervalMs: 100 });
  log.event(start, '[1/3] iso-base...');
  const get = (n: number, name: string) =>
    `Get:${n} http://mirror.invalid/debian bookworm/main amd64 ${name} amd64 1.0 [5,000 kB]\n`;
  log.output(
    '0 upgraded, 4 newly installed, 0 to remove and 0 not upgraded.\nNeed to get 20.0 MB of archives.\n',
  );
  advance(4000);
  log.output(get(1, 'libc6') + get(2, 'bash'));
  advance(150);
  // 80 columns: the figures come first, the step is what gets cut.
  expect(s.shown()).toBe('[1/3] iso-base 4 s · 9.5 MiB fetched · 2/4 packages · 50% · ~5 s left · Get:2 …');
  log.output(get(3, 'less') + get(4, 'zlib1g') + 'Fetched 20.0 MB in 5s (4,000 kB/s)\n');
  log.output('Fetched 20.0 MB in 5s (4,000 kB/s)\n');
  advance(150);
  expect(s.shown()).toBe('[1/3] iso-base 4 s · 19.1 MiB fetched · 0/4 packages · 0% · Get:4 zlib1g 1.0');
});
