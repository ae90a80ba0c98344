import { run } from '../../../src/exec/run.js';
import { escapeInSingleQuotes, quoteAlways, quoteCommand, quoteWord } from '../../../src/exec/shell-quote.js';

describe('shell quoting (the one module every script, plan line and log line uses)', () => {
  it.each([
    ['/a/b-c.d', '/a/b-c.d'],
    ['', `''`],
    [`it's here`, `'it'\\''s here'`],
    ['$HOME', `'$HOME'`],
    ['a\nb', `'a\nb'`],
    ['x="a b"', `'x="a b"'`],
  ])('quoteWord(%j) is %s', (word, quoted) => {
    expect(quoteWord(word)).toBe(quoted);
  });

  it('keeps $ placeholders for plan lines, and still escapes quotes next to them', () => {
    expect(quoteWord('$TMP/iso-tree', { keepVariables: true })).toBe('$TMP/iso-tree');
    expect(quoteWord(`$TMP/it's`, { keepVariables: true })).toBe(`'$TMP/it'\\''s'`);
  });

  it('quoteAlways quotes plain words too; escapeInSingleQuotes nests', () => {
    expect(quoteAlways('plain')).toBe(`'plain'`);
    expect(escapeInSingleQuotes(quoteWord(`a b`))).toBe(`'\\''a b'\\''`);
  });

  it('round-trips hostile words through a real sh', async () => {
    const words = [`it's`, 'a b', '$HOME', '"q"', 'x;y', '`id`', '', 'a\nb', '\\'];
    const res = await run('sh', ['-c', `printf '%s|' ${quoteCommand(words)}`]);
    expect(res.stdout).toBe(words.map((w) => `${w}|`).join(''));
  });
});
