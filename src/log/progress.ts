import type { LogEvent, Logger } from './logger.js';
import { parseProgressLine } from './progress-line.js';
import { ProgressTally, type ProgressFigures } from './progress-tally.js';
import { formatBytes } from '../fs/disk-space.js';

/**
 * Progress of the running stage, fed by the pipeline's stage events and by every command's output
 * lines (the runner streams them into the stage logger). On a terminal it is one status line
 * redrawn in place; with --json it is throttled `progress` events; otherwise nothing is added and
 * the plain `[n/N] stage...` lines stay as they are (logs, pipes, CI).
 */
export type ProgressMode = 'live' | 'json' | 'off';

export interface ProgressEvent {
  type: 'progress';
  stage: string;
  elapsed: number;
  step?: string;
  bytes?: number;
  packagesDone?: number;
  packagesTotal?: number;
  percent?: number;
  etaSeconds?: number;
}

/** The live line's screen: log-update in real use, a recorder in tests. */
export interface LiveDisplay {
  render(text: string): void;
  clear(): void;
}

export interface ProgressOptions {
  now?: () => number;
  /** Least time between two `progress` events of one stage (--json). */
  jsonIntervalMs?: number;
  /** Least time between two redraws of the live line for new output. */
  liveIntervalMs?: number;
  display?: LiveDisplay;
  stream?: NodeJS.WriteStream;
}

export function progressModeFor(
  opts: { json?: boolean; quiet?: boolean },
  stream: NodeJS.WriteStream = process.stderr,
): ProgressMode {
  if (opts.json) return 'json';
  if (opts.quiet) return 'off';
  // A dumb terminal cannot move the cursor: plain lines, as in a pipe.
  return stream.isTTY && process.env.TERM !== 'dumb' ? 'live' : 'off';
}

interface Running {
  stage: string;
  /** "[2/6] staging", taken from the start event's human line. */
  label: string;
  started: number;
  step?: string;
  tally: ProgressTally;
  lastShown: number;
  pending?: NodeJS.Timeout;
}

const ENDED = new Set(['built', 'failed', 'hit', 'pulled', 'skipped']);

/**
 * The live line: "[1/6] iso-base 12 s · 31.4 MiB fetched · 12/60 packages · 23% · ~40 s left ·
 * Get:12 libc6 2.36-9". The figures come first: a narrow terminal cuts the step, not them.
 */
export function formatLiveLine(
  r: Pick<Running, 'label' | 'step'> & ProgressFigures,
  elapsedMs: number,
  columns = 80,
): string {
  const parts = [`${r.label} ${Math.floor(elapsedMs / 1000)} s`];
  if (r.bytes !== undefined) parts.push(`${formatBytes(r.bytes)} fetched`);
  if (r.packagesTotal !== undefined)
    parts.push(`${r.packagesDone ?? 0}/${r.packagesTotal} package${r.packagesTotal === 1 ? '' : 's'}`);
  if (r.percent !== undefined) parts.push(`${r.percent}%`);
  if (r.etaSeconds !== undefined) parts.push(`~${formatSeconds(r.etaSeconds)} left`);
  if (r.step) parts.push(r.step);
  const text = parts.join(' · ');
  // One screen line, always: a wrapped line would leave its first half behind on each redraw.
  return text.length < columns ? text : text.slice(0, Math.max(columns - 2, 1)) + '…';
}

function formatSeconds(n: number): string {
  return n < 60 ? `${n} s` : `${Math.floor(n / 60)} min ${n % 60} s`;
}

/**
 * log-update draws the live line. It and its width tables are loaded only when a live line is
 * first wanted (a terminal): `isobuild run` and every run without a terminal start without them.
 * What is drawn before it has loaded (a few milliseconds) is drawn when it has.
 */
function logUpdateDisplay(stream: NodeJS.WriteStream): LiveDisplay {
  let display: LiveDisplay | undefined;
  let pending: string | undefined;
  void import('log-update').then(({ createLogUpdate }) => {
    // The cursor stays visible: a build killed mid-stage must not leave the terminal without one.
    // A pseudo-terminal may report 0×0 (script(1) without a terminal, some CI runners), which
    // log-update takes as "no room" and draws nothing: one line always fits.
    const screen = {
      write: (s: string) => stream.write(s),
      get columns() {
        return stream.columns || 80;
      },
      get rows() {
        return stream.rows || 24;
      },
      isTTY: true,
    } as unknown as NodeJS.WriteStream;
    const update = createLogUpdate(screen, { showCursor: true });
    display = { render: (text) => update(text), clear: () => update.clear() };
    if (pending !== undefined) display.render(pending);
  });
  return {
    render: (text) => (display ? display.render(text) : (pending = text)),
    clear: () => (display ? display.clear() : (pending = undefined)),
  };
}

export function withProgress(base: Logger, mode: ProgressMode, opts: ProgressOptions = {}): Logger {
  if (mode === 'off') return base;
  const now = opts.now ?? Date.now;
  const stream = opts.stream ?? process.stderr;
  const interval = mode === 'json' ? (opts.jsonIntervalMs ?? 500) : (opts.liveIntervalMs ?? 100);
  let display: LiveDisplay | undefined;
  const live = (): LiveDisplay => (display ??= opts.display ?? logUpdateDisplay(stream));
  let running: Running | undefined;
  let ticker: NodeJS.Timeout | undefined;

  const show = (r: Running) => {
    clearTimeout(r.pending);
    r.pending = undefined;
    r.lastShown = now();
    const elapsed = r.lastShown - r.started;
    const figures = r.tally.figures(r.lastShown);
    if (mode === 'live') {
      live().render(formatLiveLine({ ...r, ...figures }, elapsed, stream.columns || 80));
      return;
    }
    const ev: ProgressEvent = {
      type: 'progress',
      stage: r.stage,
      elapsed: Math.round(elapsed / 100) / 10,
      ...(r.step ? { step: r.step } : {}),
      ...figures,
    };
    base.event(ev as unknown as LogEvent);
  };
  // Throttled: the first change of a window shows at once, the last one at the window's end.
  const changed = (r: Running) => {
    const wait = r.lastShown + interval - now();
    if (wait <= 0) show(r);
    else r.pending ??= setTimeout(() => running === r && show(r), wait).unref();
  };
  const stop = () => {
    if (!running) return;
    clearTimeout(running.pending);
    clearInterval(ticker);
    running = undefined;
    if (mode === 'live') live().clear();
  };
  // Whatever else is printed goes above the live line: clear it, print, draw it again.
  const around =
    <A extends unknown[]>(f: (...a: A) => void) =>
    (...a: A): void => {
      if (mode !== 'live' || !running) return f(...a);
      live().clear();
      f(...a);
      const t = now();
      live().render(
        formatLiveLine(
          { ...running, ...running.tally.figures(t) },
          t - running.started,
          stream.columns || 80,
        ),
      );
    };

  const debug = around(base.debug);
  const output = around(base.output);
  return {
    debug(msg) {
      // The runner logs each command as "$ cmd": the step in progress until its output says more.
      if (running && msg.startsWith('$ ')) {
        running.step = msg;
        changed(running);
      }
      debug(msg);
    },
    info: around(base.info),
    warn: around(base.warn),
    error: around(base.error),
    event(ev, human) {
      if (ev.type !== 'stage' || typeof ev.stage !== 'string') return around(base.event)(ev, human);
      if (ev.status === 'start') {
        stop();
        const label = (human ?? ev.stage).replace(/\.\.\.$/, '');
        running = {
          stage: ev.stage,
          label,
          started: now(),
          lastShown: -Infinity,
          tally: new ProgressTally(),
        };
        if (mode === 'live') {
          // The live line stands in for the "[n/N] stage..." line; the log file still gets the event.
          base.event(ev);
          show(running);
          const r = running;
          ticker = setInterval(() => running === r && show(r), 1000).unref();
          return;
        }
      } else if (ENDED.has(String(ev.status)) && running?.stage === ev.stage) stop();
      base.event(ev, human);
    },
    output(chunk) {
      if (running) {
        let moved = false;
        for (const line of chunk.split('\n')) {
          const p = parseProgressLine(line);
          if (!p) continue;
          if (p.step) running.step = p.step;
          if (running.tally.add(p, now()) || p.step) moved = true;
        }
        if (moved) changed(running);
      }
      output(chunk);
    },
    attachFile: (p) => base.attachFile(p),
    detachFile: () => base.detachFile(),
  };
}
