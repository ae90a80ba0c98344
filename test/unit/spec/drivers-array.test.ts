import { readDriversArray } from '../../../src/spec/drivers-array.js';

describe('readDriversArray reads the array without running the file', () => {
  test("VIC's layout: quoted names, backslash continuations, a tab, functions around it", () => {
    const text = [
      '#!/bin/bash',
      'set -x',
      '',
      '# kernel modules to load',
      'drivers=(',
      '    "nf_nat_redirect" \\',
      '\t"nfsv3" \\',
      "    'lockd' \\",
      '    xt_REDIRECT # a comment',
      ')',
      'install-entropy () {',
      '    rm -rf /',
      '}',
    ].join('\n');
    const r = readDriversArray(text);
    expect(r).toMatchObject({ found: true, errors: [] });
    expect(r.drivers).toEqual(['nf_nat_redirect', 'nfsv3', 'lockd', 'xt_REDIRECT']);
    expect(r.positions[1]).toEqual({ line: 7, col: 2 });
  });

  test('one-line arrays, += appends and a later = replaces', () => {
    expect(readDriversArray('drivers=(a b)\ndrivers+=("c")\n').drivers).toEqual(['a', 'b', 'c']);
    expect(readDriversArray('drivers=(a b)\ndrivers=(c)\n').drivers).toEqual(['c']);
    expect(readDriversArray('declare -a drivers=(x)\n').drivers).toEqual(['x']);
  });

  test('no array at all', () => {
    expect(readDriversArray('#!/bin/bash\necho hi\n')).toEqual({
      found: false,
      drivers: [],
      positions: [],
      errors: [],
    });
  });

  test.each([
    ['drivers=(\n  $(ls /lib/modules)\n)\n', 2, 3, '"$"'],
    ['drivers=(\n  "nfs-$VERSION"\n)\n', 2, 8, '"$"'],
    ['drivers=(\n  `uname`\n)\n', 2, 3, '"`"'],
    ['drivers=(\n  nf_*\n)\n', 2, 6, '"*"'],
  ])('%j needs the shell: an error at its position', (text, line, col, what) => {
    const r = readDriversArray(text);
    expect(r.errors).toEqual([
      {
        line,
        col,
        message: `the drivers array must hold literal module names; ${what} would need the shell to evaluate it`,
      },
    ]);
  });

  test('an unclosed array is an error', () => {
    expect(readDriversArray('drivers=(\n  nfs\n').errors).toEqual([
      { line: 1, col: 1, message: 'the drivers array is not closed with ")"' },
    ]);
  });
});
