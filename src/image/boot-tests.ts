import { CommandError } from '../errors.js';
import { quoteAlways } from '../exec/shell-quote.js';
import type { Logger } from '../log/logger.js';
import type { BootTestSpec } from '../spec/types.js';
import { BEGIN_MARKER, runInVm } from './run-vm.js';
import type { VmOptions } from './qemu.js';

const TEST_BEGIN = 'ISOBUILD-TEST-BEGIN';
const TEST_END = 'ISOBUILD-TEST-END';
const BEGIN_RE = new RegExp(`^${TEST_BEGIN} (\\d+)\\s*$`);
/** Like ISOBUILD-EXIT, the end marker may follow output that did not end with a newline. */
const END_RE = new RegExp(`^(.*)${TEST_END} (\\d+) (\\d+) (\\d+)\\s*$`);

/** What one boot test did. `status` is absent when the VM never ran it (or stopped while it ran). */
export interface BootTestResult {
  readonly test: BootTestSpec;
  readonly passed: boolean;
  readonly status?: number;
  /** Its stdout and stderr, as the console carried them. */
  readonly output: string;
  readonly seconds: number;
  readonly timedOut: boolean;
  /** Why it failed, one line: "exit 1, expected 0", "output does not match /x/", "timed out after 60 s". */
  readonly failure?: string;
}

/** The tests of one target, run in one boot of its output. */
export interface BootTestRun {
  readonly target: string;
  readonly image: string;
  readonly results: readonly BootTestResult[];
  /** From qemu's first console line to the tether starting the tests; absent when it never started. */
  readonly bootSeconds?: number;
  /** The console's tail when the VM stopped before every test had run. */
  readonly vmFailure?: string;
}

/**
 * The one command the tether runs: every test in turn, each in `sh -c` under `timeout`, its
 * output between numbered markers and its status and guest-side seconds in the end marker. One
 * boot, many commands: the tether's channel carries one command, so the tests go in one script.
 * `timeout` is busybox's or coreutils'; a root with neither runs the tests unbounded (the VM's
 * own timeout still holds).
 */
export function bootTestScript(tests: readonly BootTestSpec[]): string {
  const lines = [
    'command -v timeout >/dev/null 2>&1 || timeout() { shift; "$@"; }',
    `t() { echo ${TEST_BEGIN} $1; b=$(date +%s); timeout $2 sh -c "$3" </dev/null 2>&1; r=$?; echo ${TEST_END} $1 $r $(($(date +%s) - b)); }`,
    ...tests.map((test, i) => `t ${i} ${test.timeoutSeconds} ${quoteAlways(test.run)}`),
    'exit 0',
  ];
  return lines.join('\n');
}

/** What the guest reported for one test, before it is judged. */
interface Reported {
  status?: number;
  seconds: number;
  lines: string[];
}

/** Reads the markers out of the command's output lines, fed one by one as the console gives them. */
export function makeTestMarkerParser() {
  const reported = new Map<number, Reported>();
  let current: number | undefined;
  return {
    feed(line: string): void {
      const begin = BEGIN_RE.exec(line);
      if (begin) {
        current = Number(begin[1]);
        reported.set(current, { seconds: 0, lines: [] });
        return;
      }
      if (current === undefined) return;
      const entry = reported.get(current)!;
      const end = END_RE.exec(line);
      if (end && Number(end[2]) === current) {
        if (end[1]) entry.lines.push(end[1]);
        entry.status = Number(end[3]);
        entry.seconds = Number(end[4]);
        current = undefined;
        return;
      }
      entry.lines.push(line);
    },
    reported(index: number): Reported | undefined {
      return reported.get(index);
    },
  };
}

/** Pass or fail, and why, from what the guest reported. */
export function judgeBootTest(
  test: BootTestSpec,
  reported: Reported | undefined,
  vmFailure?: string,
): BootTestResult {
  const output = reported?.lines.join('\n') ?? '';
  const seconds = reported?.seconds ?? 0;
  if (reported?.status === undefined) {
    const failure = reported
      ? `the VM stopped while it ran${vmFailure ? ` (${vmFailure})` : ''}`
      : `not run: the VM stopped first${vmFailure ? ` (${vmFailure})` : ''}`;
    return { test, passed: false, output, seconds, timedOut: false, failure };
  }
  const status = reported.status;
  // timeout(1) ends the command with SIGTERM: coreutils says 124, busybox the signal's 143.
  const timedOut = seconds >= test.timeoutSeconds && (status === 124 || status === 143 || status === 137);
  const failures: string[] = [];
  if (timedOut) failures.push(`timed out after ${test.timeoutSeconds} s`);
  else if (status !== test.exit) failures.push(`exit ${status}, expected ${test.exit}`);
  if (test.expect !== undefined && !new RegExp(test.expect, 'm').test(output))
    failures.push(`output does not match /${test.expect}/`);
  return {
    test,
    passed: failures.length === 0,
    status,
    output,
    seconds,
    timedOut,
    ...(failures.length ? { failure: failures.join('; ') } : {}),
  };
}

/** Room for the boot itself on top of the tests' own timeouts. */
export const BOOT_ALLOWANCE_SECONDS = 300;

export interface RunBootTestsOptions {
  vm: Omit<VmOptions, 'disks'>;
  target: string;
  image: string;
  tests: readonly BootTestSpec[];
  /** Seconds the boot may take before the first test; the tests' timeouts are added. */
  bootSeconds?: number;
  /** Each console line (--console). */
  onConsole?: (line: string) => void;
  logger?: Logger;
}

/**
 * Boots the image once and runs every test through the tether's command channel (the one
 * `isobuild run` uses). A VM that stops or hangs before the tests end fails the tests it did
 * not finish, with the console's tail; it is not thrown, so the others' results still count.
 */
export async function runBootTests(o: RunBootTestsOptions): Promise<BootTestRun> {
  const parser = makeTestMarkerParser();
  let firstLine: number | undefined;
  let begun: number | undefined;
  const total =
    (o.bootSeconds ?? BOOT_ALLOWANCE_SECONDS) + o.tests.reduce((s, t) => s + t.timeoutSeconds + 5, 0);
  let vmFailure: string | undefined;
  try {
    await runInVm({
      vm: o.vm,
      argv: ['sh', '-c', bootTestScript(o.tests)],
      timeoutMs: total * 1000,
      onOutput: (line) => parser.feed(line),
      onConsole: (line) => {
        const now = Date.now();
        firstLine ??= now;
        if (begun === undefined && line.trimEnd().endsWith(BEGIN_MARKER)) begun = now;
        o.onConsole?.(line);
      },
      ...(o.logger ? { logger: o.logger } : {}),
    });
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    // The first line of the message says why ("no ISOBUILD-EXIT within 400 s"); the tail is data.
    vmFailure = err.message.split('\n')[0]!.replace(/^isobuild run: /, '');
    const tail = err.details.outputTail;
    if (tail) vmFailure += `; console:\n${tail}`;
  }
  const results = o.tests.map((test, i) => judgeBootTest(test, parser.reported(i), vmFailure));
  return {
    target: o.target,
    image: o.image,
    results,
    ...(firstLine !== undefined && begun !== undefined ? { bootSeconds: (begun - firstLine) / 1000 } : {}),
    ...(vmFailure ? { vmFailure } : {}),
  };
}
