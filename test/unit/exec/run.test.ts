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

describe('a tool gone after preflight', () => {
  test('a host tool not on PATH any more is "command not found", naming its Debian package', async () => {
    const err = await run('xorriso', ['-version'], { stage: 'iso', env: { PATH: '/nonexistent' } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).message).toBe(
      'stage iso: command failed (command not found: xorriso; apt-get install xorriso)\n  $ xorriso -version',
    );
  });

  test('exit 127 from a command another one ran says a command was not found, with its output', async () => {
    const err = await run('sh', ['-c', 'isobuild-no-such-tool --x'], { stage: 'staging' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CommandError);
    const { message, details } = err as CommandError;
    expect(details.exitCode).toBe(127);
    expect(message).toMatch(/^stage staging: command failed \(exit status 127: a command was not found\)\n/);
    expect(details.outputTail).toMatch(/isobuild-no-such-tool: not found/);
  });
});
