import { parseStrace } from '../../../src/minimise/strace-parse.js';
import { interpretTrace, stripRootPrefix } from '../../../src/minimise/trace-events.js';

const R = '/tmp/t/merged';
const facts = (lines: string[]) => interpretTrace(parseStrace(lines.join('\n')), R);
const paths = (lines: string[]) => facts(lines).accesses.map((a) => `${a.kind}:${a.path}`);

describe('trace interpretation', () => {
  it('ignores everything a process does before its chroot succeeds', () => {
    expect(
      paths([
        '10 openat(AT_FDCWD</host>, "/etc/ld.so.cache", O_RDONLY) = 3</etc/ld.so.cache>',
        `10 chroot("${R}") = 0`,
        `10 chdir("/app") = 0`,
        `10 openat(AT_FDCWD<${R}/app>, "/etc/ld.so.cache", O_RDONLY) = 3<${R}/etc/ld.so.cache>`,
      ]),
    ).toEqual(['cwd:/app', 'open:/etc/ld.so.cache']);
  });

  it('keeps errors that prove existence and drops ENOENT/ENOTDIR', () => {
    const f = facts([
      `1 chroot("${R}") = 0`,
      '1 openat(AT_FDCWD, "/etc/shadow", O_RDONLY) = -1 EACCES (Permission denied)',
      '1 readlink("/usr/bin/python3.11", 0x7f, 4096) = -1 EINVAL (Invalid argument)',
      '1 mkdir("/tmp", 0777) = -1 EEXIST (File exists)',
      '1 openat(AT_FDCWD, "/usr/lib/x.so", O_RDONLY) = -1 ENOENT (No such file or directory)',
      '1 stat("/etc/passwd/x", 0x7f) = -1 ENOTDIR (Not a directory)',
    ]);
    expect(f.accesses.map((a) => a.path)).toEqual(['/etc/shadow', '/usr/bin/python3.11', '/tmp']);
    expect(f.missing).toEqual(['/etc/passwd/x', '/usr/lib/x.so']);
  });

  it('resolves relative paths against dirfds (-y) and the cwd, inherited through fork', () => {
    expect(
      paths([
        `1 chroot("${R}") = 0`,
        '1 chdir("/srv") = 0',
        '1 clone(child_stack=NULL, flags=SIGCHLD) = 2',
        '2 openat(AT_FDCWD, "data/a.txt", O_RDONLY) = 3',
        `2 openat(3<${R}/usr/share>, "b.txt", O_RDONLY) = 4`,
        '2 chdir("sub") = 0',
        '2 stat("c", 0x1) = 0',
        '1 stat("d", 0x1) = 0',
      ]),
    ).toEqual([
      'cwd:/srv',
      'open:/srv/data/a.txt',
      'open:/usr/share/b.txt',
      'cwd:/srv/sub',
      'stat:/srv/sub/c',
      'stat:/srv/d',
    ]);
  });

  it("knows a child's parent even when the child's first line comes before clone returns", () => {
    expect(
      paths([
        `1 chroot("${R}") = 0`,
        '1 clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>',
        '2 execve("/bin/true", ["true"], 0x1 /* 1 var */) = 0',
        '1 <... clone resumed>) = 2',
      ]),
    ).toEqual(['exec:/bin/true']);
  });

  it('records listings, fchdir and creations', () => {
    const f = facts([
      `1 chroot("${R}") = 0`,
      `1 getdents64(3<${R}/usr/lib/python3.11>, 0x1 /* 205 entries */, 32768) = 6832`,
      `1 fchdir(3<${R}/var>) = 0`,
      '1 openat(AT_FDCWD, "tmp/new", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 4',
      '1 newfstatat(AT_FDCWD, "/lib64", 0x1, AT_SYMLINK_NOFOLLOW) = 0',
    ]);
    expect(f.accesses.map((a) => [a.kind, a.path, a.follow])).toEqual([
      ['list', '/usr/lib/python3.11', true],
      ['cwd', '/var', true],
      ['create', '/var/tmp/new', true],
      ['stat', '/lib64', false],
    ]);
  });

  it('maps -y host paths into the root and rejects others', () => {
    expect(stripRootPrefix(`${R}/etc`, R)).toBe('/etc');
    expect(stripRootPrefix(R, `${R}/`)).toBe('/');
    expect(stripRootPrefix(`${R}x/etc`, R)).toBeUndefined();
  });
});
