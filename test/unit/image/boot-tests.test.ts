import { DOMParser } from '@xmldom/xmldom';
import { run } from '../../../src/exec/run.js';
import {
  bootTestScript,
  judgeBootTest,
  makeTestMarkerParser,
  type BootTestRun,
} from '../../../src/image/boot-tests.js';
import { junitXml } from '../../../src/image/junit.js';
import type { BootTestSpec } from '../../../src/spec/types.js';

const spec = (over: Partial<BootTestSpec> & { name: string; run: string }): BootTestSpec => ({
  exit: 0,
  target: 'bootstrap',
  timeoutSeconds: 60,
  ...over,
});

const TESTS: BootTestSpec[] = [
  spec({ name: 'prints', run: 'echo hello; echo "a  b" >&2', expect: '^hello$' }),
  spec({ name: 'wrong pattern', run: 'echo nope', expect: '^yes$' }),
  spec({ name: 'exit 3 wanted', run: "printf 'no newline'; exit 3", exit: 3, expect: 'no newline' }),
  spec({ name: 'quotes survive', run: `echo "it's \\$HOME" '$x'`, expect: "^it's \\$HOME \\$x$" }),
  spec({ name: 'too slow', run: 'sleep 5', timeoutSeconds: 1 }),
  spec({ name: 'wrong exit', run: 'false' }),
];

/** The guest's side run by the host's real sh (dash here), its output read back as the console would carry it. */
async function runOnHost(tests: readonly BootTestSpec[]) {
  const res = await run('sh', ['-c', bootTestScript(tests)]);
  const parser = makeTestMarkerParser();
  for (const line of res.stdout.split('\n')) parser.feed(line);
  return tests.map((t, i) => judgeBootTest(t, parser.reported(i)));
}

test("the test script, run by a real sh: each test's output, status and verdict", async () => {
  const [prints, wrongPattern, exit3, quotes, slow, wrongExit] = await runOnHost(TESTS);
  expect(prints).toMatchObject({ passed: true, status: 0, output: 'hello\na  b' });
  expect(wrongPattern).toMatchObject({
    passed: false,
    status: 0,
    output: 'nope',
    failure: 'output does not match /^yes$/',
  });
  // Output without a final newline: the end marker follows it on the same line and is split off.
  expect(exit3).toMatchObject({ passed: true, status: 3, output: 'no newline' });
  expect(quotes).toMatchObject({ passed: true, output: "it's $HOME $x" });
  expect(slow).toMatchObject({ passed: false, timedOut: true, failure: 'timed out after 1 s' });
  expect(wrongExit).toMatchObject({ passed: false, status: 1, failure: 'exit 1, expected 0' });
});

test('a test the VM never reached, or stopped in, fails with the reason', () => {
  const parser = makeTestMarkerParser();
  parser.feed('ISOBUILD-TEST-BEGIN 0');
  parser.feed('half');
  const stopped = judgeBootTest(TESTS[0]!, parser.reported(0), 'no ISOBUILD-EXIT within 400 s');
  expect(stopped).toMatchObject({ passed: false, output: 'half' });
  expect(stopped.failure).toBe('the VM stopped while it ran (no ISOBUILD-EXIT within 400 s)');
  expect(judgeBootTest(TESTS[1]!, parser.reported(1)).failure).toBe('not run: the VM stopped first');
});

test('the JUnit XML parses with a real XML parser and counts tests and failures per target', async () => {
  const results = await runOnHost(TESTS);
  const runs: BootTestRun[] = [
    // A console carries escape sequences and CRs, which XML 1.0 cannot hold even escaped.
    {
      target: 'bootstrap',
      image: '/x.iso',
      results: [{ ...results[0]!, output: 'colour \u001b[1mbold\u001b[0m\r & <tag>' }, ...results.slice(1)],
      bootSeconds: 12,
    },
    { target: 'firecracker', image: '/fc', results: [results[0]!] },
  ];
  const xml = junitXml('demo', runs, [
    { target: 'bootstrap', name: 'boot time', seconds: 12, failure: 'over' },
  ]);
  const errors: string[] = [];
  const doc = new DOMParser({
    onError: (level: string, msg: string) => {
      errors.push(`${level}: ${msg}`);
    },
  }).parseFromString(xml, 'text/xml');
  expect(errors).toEqual([]);
  const root = doc.documentElement!;
  expect(root.tagName).toBe('testsuites');
  expect([root.getAttribute('tests'), root.getAttribute('failures')]).toEqual(['8', '4']);
  const suites = Array.from(root.getElementsByTagName('testsuite'));
  expect(
    suites.map((s) => [s.getAttribute('name'), s.getAttribute('tests'), s.getAttribute('failures')]),
  ).toEqual([
    ['demo/bootstrap', '7', '4'],
    ['demo/firecracker', '1', '0'],
  ]);
  const cases = Array.from(suites[0]!.getElementsByTagName('testcase'));
  expect(cases.map((c) => c.getAttribute('name'))).toEqual([...TESTS.map((t) => t.name), 'boot time']);
  expect(cases[0]!.getElementsByTagName('system-out')[0]!.textContent).toBe('colour [1mbold[0m & <tag>');
  const failure = cases[1]!.getElementsByTagName('failure')[0]!;
  expect(failure.getAttribute('message')).toBe('output does not match /^yes$/');
  expect(failure.textContent).toBe('$ echo nope\nexpected: exit 0, output matching /^yes$/\ngot: exit 0');
});
