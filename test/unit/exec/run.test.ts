import { CommandError } from '../../../src/errors.js';
import { run, tail } from '../../../src/exec/run.js';

test.each([
  ['blank lines and padding are left out', 'a\n\n   \nb\n\n', 'a\nb'],
  ['a line redrawn by carriage returns shows its last redraw', 'x\r 50%\r100%\n', '100%'],
  ['a progress bar that wipes itself does not count', 'reason\nbar 10%\rbar 90%\r        \r\n', 'reason'],
  ['colour codes are dropped', '\x1b[31m⨯\x1b[0m failed\n', '⨯ failed'],
  ['the last lines are kept', '1\n2\n3\n4\n', '3\n4'],
])('tail: %s', (_name, text, expected) => {
  expect(tail(text, 2)).toBe(expected);
});

test("a failed command's error shows its reason even when the tool then wipes its progress bar", async () => {
  const script =
    'echo "unpack entry: a/f: SecureJoin out/a/: too many levels of symbolic links" >&2; ' +
    'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22; do printf "bar $i%%\\r          \\r\\n" >&2; done; exit 1';
  const err = await run('sh', ['-c', script], { stage: 'iso-base' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CommandError);
  const { message, details } = err as CommandError;
  expect(details.outputTail).toBe('unpack entry: a/f: SecureJoin out/a/: too many levels of symbolic links');
  expect(message).toMatch(/output \(last lines\):\n {4}unpack entry: a\/f: SecureJoin/);
});
