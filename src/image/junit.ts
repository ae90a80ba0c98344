import type { BootTestRun } from './boot-tests.js';

/** A case that is not one of the spec's tests: the boot-time budget, judged like one. */
export interface ExtraCase {
  readonly target: string;
  readonly name: string;
  readonly seconds: number;
  readonly failure?: string;
}

/**
 * XML 1.0 cannot carry most control characters, even escaped, and a console is full of them
 * (escape sequences; carriage returns, which a parser would turn into line breaks): they are
 * dropped, so the file always parses.
 */
function xmlText(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b-\u000d\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
  );
}

const seconds = (n: number) => n.toFixed(3);

interface Case {
  name: string;
  seconds: number;
  failure?: { message: string; body: string };
  output: string;
}

function caseXml(suite: string, c: Case): string {
  const open = `    <testcase classname="${xmlText(suite)}" name="${xmlText(c.name)}" time="${seconds(c.seconds)}"`;
  const failure = c.failure
    ? `      <failure message="${xmlText(c.failure.message)}" type="failure">${xmlText(c.failure.body)}</failure>\n`
    : '';
  const out = c.output ? `      <system-out>${xmlText(c.output)}</system-out>\n` : '';
  return failure || out ? `${open}>\n${failure}${out}    </testcase>` : `${open}/>`;
}

/**
 * JUnit XML as GitHub Actions' and GitLab's test reports read it: one <testsuite> per target
 * (REPO/TARGET), one <testcase> per test, a <failure> with the expected pattern and status and the
 * output; the boot-time budget as a case of its own.
 */
export function junitXml(
  repo: string,
  runs: readonly BootTestRun[],
  extra: readonly ExtraCase[] = [],
): string {
  const suites = runs.map((run) => ({ name: `${repo}/${run.target}`, cases: casesOf(run, extra) }));
  const failed = (cases: readonly Case[]) => cases.filter((c) => c.failure).length;
  const all = suites.flatMap((s) => s.cases);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlText(repo)}" tests="${all.length}" failures="${failed(all)}" errors="0">`,
    ...suites.flatMap(({ name, cases }) => [
      `  <testsuite name="${xmlText(name)}" tests="${cases.length}" failures="${failed(cases)}" errors="0" skipped="0" time="${seconds(cases.reduce((s, c) => s + c.seconds, 0))}">`,
      ...cases.map((c) => caseXml(name, c)),
      '  </testsuite>',
    ]),
    '</testsuites>',
    '',
  ].join('\n');
}

/** One case per test of the run, then the extra cases of its target. */
function casesOf(run: BootTestRun, extra: readonly ExtraCase[]): Case[] {
  const cases: Case[] = run.results.map((r) => ({
    name: r.test.name,
    seconds: r.seconds,
    output: r.output,
    ...(r.passed
      ? {}
      : {
          failure: {
            message: r.failure ?? 'failed',
            body: [
              `$ ${r.test.run}`,
              `expected: exit ${r.test.exit}${r.test.expect !== undefined ? `, output matching /${r.test.expect}/` : ''}`,
              `got: ${r.status === undefined ? 'no exit status' : `exit ${r.status}`}`,
              ...(run.vmFailure ? [`VM: ${run.vmFailure}`] : []),
            ].join('\n'),
          },
        }),
  }));
  for (const e of extra.filter((x) => x.target === run.target))
    cases.push({
      name: e.name,
      seconds: e.seconds,
      output: '',
      ...(e.failure ? { failure: { message: e.failure, body: e.failure } } : {}),
    });
  return cases;
}
