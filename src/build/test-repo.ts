import { UsageError } from '../errors.js';
import { runBootTests, type BootTestResult, type BootTestRun } from '../image/boot-tests.js';
import { junitXml, type ExtraCase } from '../image/junit.js';
import { writeFileWhole } from '../fs/replace-file.js';
import { resolve } from 'node:path';
import { vmOptionsFrom, type VmFlags } from '../image/vm-flags.js';
import type { Logger } from '../log/logger.js';
import { withSession } from '../pipeline/build-session.js';
import { loadRepo } from '../spec/load.js';
import type { BootTestSpec, ResolvedSpec } from '../spec/types.js';
import { bootableOutput, TARGETS } from '../stage/targets.js';
import type { Target } from '../stage/types.js';
import { build } from './build.js';
import { loggerFor } from './events.js';
import { reposDirFor } from '../spec/repos-dir.js';
import { buildOptionsFor, type BuildRequest, type BuiltOutput } from './request.js';

/** The qemu flags a test boot takes (`isobuild run`'s; the boot's allowance is `bootSeconds`). */
export type TestVmFlags = Omit<VmFlags, 'timeout'>;

/** `testRepo(request)`: build each target the spec's tests name (through the cache), boot it once, run its tests. */
export interface TestRequest extends Omit<BuildRequest, 'target' | 'output' | 'exportTo'> {
  /** Only the tests of this target. Default: every target the tests name. */
  target?: Target;
  vm?: TestVmFlags;
  /** Seconds a boot may take before its tests start (each test adds its own timeout). Default 300. */
  bootSeconds?: number;
  /** Every console line of the test boots (--console). */
  onConsole?: (line: string) => void;
  /** Write the results here as JUnit XML (what GitHub Actions and GitLab show). */
  junit?: string;
}

/** What `isobuild test` found: each target's run, the boot-time verdicts, and whether all passed. */
export interface TestReport {
  repo: string;
  runs: BootTestRun[];
  /** The boot-time budget, one case per target run, when the spec sets budget.boot. */
  bootBudget: ExtraCase[];
  passed: boolean;
}

/** The spec's tests by target, in the targets table's order; only `only`'s when given. */
export function testsByTarget(spec: ResolvedSpec, only?: Target): Map<Target, BootTestSpec[]> {
  const out = new Map<Target, BootTestSpec[]>();
  for (const target of TARGETS) {
    if (only && target !== only) continue;
    const tests = spec.tests.filter((t) => t.target === target);
    if (tests.length) out.set(target, tests);
  }
  return out;
}

/**
 * `isobuild test REPO`: every target the spec's tests name is built (a cached build costs
 * seconds) and its output booted once, its tests run in that boot through the tether's command
 * channel. A failing test is a result, not an error: the report says which failed.
 */
export async function testRepo(request: TestRequest): Promise<TestReport> {
  const logger = loggerFor(request);
  const spec = await loadRepo(request.repo, reposDirFor(request.reposDir), logger);
  const groups = testsByTarget(spec, request.target);
  if (!groups.size)
    throw new UsageError(
      request.target
        ? `${spec.name} has no tests for target ${request.target}: add tests with "target": "${request.target}" to ${spec.specFile}`
        : `${spec.name} has no tests: add a "tests" list to ${spec.specFile} (docs/testing-images.md)`,
    );
  const runs: BootTestRun[] = [];
  for (const [target, tests] of groups) {
    const built = await build({ ...request, target });
    runs.push(await testBuiltOutput({ spec, target, tests, outputs: built.outputs, request, logger }));
  }
  return finish(spec, runs, request, logger);
}

/**
 * `build --test`: the tests of the target just built, on its outputs; undefined when the spec
 * has none for it.
 */
export async function testBuild(
  request: TestRequest & { target: Target },
  outputs: readonly BuiltOutput[],
): Promise<TestReport | undefined> {
  const logger = loggerFor(request);
  const spec = await loadRepo(request.repo, reposDirFor(request.reposDir));
  const tests = testsByTarget(spec, request.target).get(request.target);
  if (!tests) return undefined;
  const run = await testBuiltOutput({ spec, target: request.target, tests, outputs, request, logger });
  return finish(spec, [run], request, logger);
}

/** The report, and the JUnit file when asked for. */
async function finish(
  spec: ResolvedSpec,
  runs: BootTestRun[],
  request: TestRequest,
  logger: Logger,
): Promise<TestReport> {
  const report = reportOf(spec, runs, logger);
  if (request.junit) {
    const path = resolve(request.junit);
    await writeFileWhole(path, junitXml(spec.name, runs, report.bootBudget), { mkdir: true });
    logger.event({ type: 'junit', path }, `JUnit XML: ${path}`);
  }
  return report;
}

async function testBuiltOutput(o: {
  spec: ResolvedSpec;
  target: Target;
  tests: readonly BootTestSpec[];
  outputs: readonly BuiltOutput[];
  request: TestRequest;
  logger: Logger;
}): Promise<BootTestRun> {
  const format = bootableOutput(o.target);
  const image = o.outputs.find((out) => out.format === format)?.path;
  if (!image) throw new UsageError(`target ${o.target} wrote no output that boots`);
  const flags = o.request.vm ?? { accel: 'tcg' };
  const vm = await vmOptionsFrom(image, { ...flags, timeout: '0' });
  o.logger.event(
    { type: 'test-boot', target: o.target, image, tests: o.tests.length },
    `${o.spec.name} ${o.target}: booting ${image} for ${o.tests.length} test${o.tests.length === 1 ? '' : 's'}`,
  );
  const run = await withSession(buildOptionsFor(o.request).cacheRoot, 'test', o.logger, () =>
    runBootTests({
      vm,
      target: o.target,
      image,
      tests: o.tests,
      ...(o.request.bootSeconds !== undefined ? { bootSeconds: o.request.bootSeconds } : {}),
      ...(o.request.onConsole ? { onConsole: o.request.onConsole } : {}),
      logger: o.logger,
    }),
  );
  for (const r of run.results) reportResult(o.target, r, o.logger);
  return run;
}

/** One line per test; a failure adds its command, what was expected, what came, and the output. */
function reportResult(target: string, r: BootTestResult, logger: Logger): void {
  const { test } = r;
  const human = r.passed
    ? `PASS ${target}: ${test.name} (${r.seconds} s)`
    : [
        `FAIL ${target}: ${test.name}: ${r.failure}`,
        `  $ ${test.run}`,
        `  expected: exit ${test.exit}${test.expect !== undefined ? `, output matching /${test.expect}/` : ''}`,
        `  got: ${r.status === undefined ? 'no exit status' : `exit ${r.status}`}`,
        `  output:${r.output ? '\n' + r.output.replace(/^/gm, '    ') : ' (none)'}`,
      ].join('\n');
  logger.event(
    {
      type: 'test',
      target,
      name: test.name,
      passed: r.passed,
      seconds: r.seconds,
      ...(r.status !== undefined ? { status: r.status } : {}),
      ...(r.passed ? {} : { failure: r.failure, output: r.output, exit: test.exit }),
      ...(!r.passed && test.expect !== undefined ? { expect: test.expect } : {}),
    },
    human,
  );
}

/** The boot-time budget's verdicts, and the summary event. */
function reportOf(spec: ResolvedSpec, runs: BootTestRun[], logger: Logger): TestReport {
  const limit = spec.budget.bootSeconds;
  const bootBudget: ExtraCase[] = [];
  if (limit !== undefined)
    for (const run of runs) {
      const took = run.bootSeconds;
      const failure =
        took === undefined
          ? `budget.boot: the tests never started (limit ${limit} s)`
          : took > limit
            ? `budget.boot: the boot took ${took.toFixed(1)} s, over its budget of ${limit} s`
            : undefined;
      bootBudget.push({
        target: run.target,
        name: 'boot time',
        seconds: took ?? 0,
        ...(failure ? { failure } : {}),
      });
      logger.event(
        {
          type: 'boot-time',
          target: run.target,
          limit,
          passed: !failure,
          ...(took !== undefined ? { seconds: took } : {}),
        },
        failure
          ? `FAIL ${run.target}: ${failure}`
          : `PASS ${run.target}: boot in ${took!.toFixed(1)} s (budget ${limit} s)`,
      );
    }
  const results = runs.flatMap((r) => r.results);
  const failed = results.filter((r) => !r.passed).length + bootBudget.filter((b) => b.failure).length;
  const total = results.length + bootBudget.length;
  logger.event(
    { type: 'tests', repo: spec.name, passed: total - failed, failed },
    `${spec.name}: ${total - failed} of ${total} passed${failed ? `, ${failed} failed` : ''}`,
  );
  return { repo: spec.name, runs, bootBudget, passed: failed === 0 };
}
