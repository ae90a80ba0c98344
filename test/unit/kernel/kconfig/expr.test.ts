import { evalExpr, formatExpr, parseExpr } from '../../../../src/kernel/kconfig/expr.js';

test.each([
  ['A || B && !C', 'A || (B && !C)'],
  ['(A || B) && !C', '(A || B) && !C'],
  ['!(A && B)', '!(A && B)'],
  ['64BIT && X86_32=n', '64BIT && X86_32=n'],
  ['A != m', 'A!=m'],
])('%s parses and prints back as %s', (text, printed) => {
  expect(formatExpr(parseExpr(text))).toBe(printed);
});

test('! binds tighter than &&, && tighter than ||', () => {
  expect(parseExpr('A || B && !C')).toEqual({
    kind: 'or',
    left: { kind: 'symbol', name: 'A' },
    right: {
      kind: 'and',
      left: { kind: 'symbol', name: 'B' },
      right: { kind: 'not', arg: { kind: 'symbol', name: 'C' } },
    },
  });
});

test('a $(...) macro holding shell code and parentheses is one token that counts as y', () => {
  const e = parseExpr(`$(success,echo 'int f(int x) { asm goto ("": "=r"(x) ::: b); }' | $(CC) -x c -) && A`);
  expect(e).toMatchObject({ kind: 'and', left: { kind: 'const', macro: true }, right: { name: 'A' } });
  expect(evalExpr(e, () => 'y')).toBe('y');
});

test.each([
  ['A && B', { A: 'y', B: 'm' }, 'm'],
  ['A || B', { A: 'n', B: 'm' }, 'm'],
  ['!A', { A: 'm' }, 'm'],
  ['A=n', {}, 'y'],
  ['A != y', { A: 'y' }, 'n'],
  ['"x86_64" = "x86"', {}, 'n'],
  ['NR > 4', { NR: '8' }, 'y'],
])('%s with %j is %s', (text, values: Record<string, string>, want) => {
  expect(evalExpr(parseExpr(text), (s) => values[s] ?? 'n')).toBe(want);
});
