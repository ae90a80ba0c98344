import {
  decodeCString,
  joinUnfinished,
  parseStrace,
  parseSyscall,
  splitArgs,
} from '../../../src/minimise/strace-parse.js';

describe('strace parser', () => {
  it('joins <unfinished ...> lines with their resumed halves, per pid', () => {
    const text = [
      '100 openat(AT_FDCWD</r>, "/etc/passwd", O_RDONLY <unfinished ...>',
      '101 chdir("/tmp") = 0',
      '100 <... openat resumed>) = 3</r/etc/passwd>',
    ].join('\n');
    expect(joinUnfinished(text)).toEqual([
      { pid: 101, body: 'chdir("/tmp") = 0', line: 2 },
      { pid: 100, body: 'openat(AT_FDCWD</r>, "/etc/passwd", O_RDONLY) = 3</r/etc/passwd>', line: 1 },
    ]);
  });

  it('parses strings, -y decorations, return paths and errnos', () => {
    const [ok, err] = parseStrace(
      [
        '7 openat(3</r/usr/lib>, "x, y\\"z", O_RDONLY|O_CLOEXEC) = 4</r/usr/lib/x, y"z>',
        '7 newfstatat(AT_FDCWD</r>, "/nope", 0x7ffd, 0) = -1 ENOENT (No such file or directory)',
      ].join('\n'),
    );
    expect(ok).toMatchObject({
      pid: 7,
      name: 'openat',
      args: [
        { kind: 'fd', fd: '3', path: '/r/usr/lib' },
        { kind: 'string', value: 'x, y"z' },
        { kind: 'raw', text: 'O_RDONLY|O_CLOEXEC' },
      ],
      ret: '4',
      retPath: '/r/usr/lib/x, y"z',
    });
    expect(err).toMatchObject({ name: 'newfstatat', ret: '-1', errno: 'ENOENT' });
  });

  it('skips signals, exits and garbage', () => {
    const text =
      '5 --- SIGCHLD {si_signo=SIGCHLD} ---\n5 +++ exited with 0 +++\nnot a line\n5 exit_group(0) = ?';
    expect(parseStrace(text).map((e) => e.name)).toEqual(['exit_group']);
  });

  it('keeps nested structures in one argument', () => {
    expect(splitArgs('"/bin/ls", ["ls", "-l"], 0x7ffe /* 5 vars */')).toEqual([
      '"/bin/ls"',
      '["ls", "-l"]',
      '0x7ffe /* 5 vars */',
    ]);
    expect(parseSyscall(1, 'execve("/bin/ls", ["ls", "a)b"], 0x1 /* 2 vars */) = 0', 1)?.args[0]).toEqual({
      kind: 'string',
      value: '/bin/ls',
    });
  });

  it('decodes C escapes, including octal and hex bytes as UTF-8', () => {
    expect(decodeCString('a\\tb\\n\\\\\\"')).toBe('a\tb\n\\"');
    expect(decodeCString('caf\\303\\251')).toBe('café');
    expect(decodeCString('\\xc3\\xa9')).toBe('é');
  });
});
