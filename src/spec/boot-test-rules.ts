import { bootableOutput, TARGETS } from '../stage/targets.js';
import { joinPointer } from './document.js';
import { finding, type Finding, type Rule } from './rule.js';

/** `tests`: names unique (they key the pass/fail lines and the JUnit cases). */
export const testNamesUnique: Rule = {
  name: 'test-names-unique',
  check(input) {
    const out: Finding[] = [];
    const seen = new Map<string, number>();
    for (const [i, t] of (input.raw.tests ?? []).entries()) {
      const first = seen.get(t.name);
      if (first === undefined) seen.set(t.name, i);
      else
        out.push(
          finding(
            input,
            this.name,
            joinPointer('tests', i, 'name'),
            `test name ${JSON.stringify(t.name)} is already used by /tests/${first}: give each test its own name`,
          ),
        );
    }
    return out;
  },
};

/** `expect` is a JavaScript regular expression: one that does not compile is found before a boot. */
export const testExpectPattern: Rule = {
  name: 'test-expect-pattern',
  check(input) {
    const out: Finding[] = [];
    for (const [i, t] of (input.raw.tests ?? []).entries()) {
      if (t.expect === undefined) continue;
      try {
        new RegExp(t.expect, 'm');
      } catch (err) {
        out.push(
          finding(
            input,
            this.name,
            joinPointer('tests', i, 'expect'),
            `${JSON.stringify(t.expect)} is not a valid regular expression (${(err as Error).message}): escape the special characters`,
          ),
        );
      }
    }
    return out;
  },
};

/** A test's target must write something that boots with a command (an ISO, kernel+initrd, a microVM or a disk). */
export const testsBootable: Rule = {
  name: 'tests-bootable',
  check(input) {
    const out: Finding[] = [];
    const bootable = TARGETS.filter((t) => bootableOutput(t) !== undefined);
    for (const [i, t] of (input.raw.tests ?? []).entries()) {
      if (!t.target || bootableOutput(t.target)) continue;
      out.push(
        finding(
          input,
          this.name,
          joinPointer('tests', i, 'target'),
          `target ${t.target} writes nothing that boots: use one of ${bootable.join(', ')}`,
        ),
      );
    }
    return out;
  },
};
