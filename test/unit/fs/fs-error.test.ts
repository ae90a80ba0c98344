import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, FileSystemError, UsageError } from '../../../src/errors.js';
import { toFileSystemError, withFileSystemErrors } from '../../../src/fs/fs-error.js';
import { parseEvents } from '../../helpers/json-events.js';
import { checkCliBuilt, ROOT, runCli } from '../cli/run-cli.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-fs-error-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An errno error as node makes them (made by hand: as root, EACCES and EMFILE cannot be caused here). */
function errno(code: string, syscall: string, path: string, dest?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), {
    code,
    syscall,
    path,
    ...(dest ? { dest } : {}),
  });
}

test.each([
  [
    'EACCES names the path and says what to check',
    errno('EACCES', 'open', '/srv/out/x.iso'),
    "cannot open /srv/out/x.iso: permission denied: check the path's owner and mode, or run as a user that may write there",
    '/srv/out/x.iso',
  ],
  [
    'EROFS on a copy names the destination, not the source',
    errno('EROFS', 'copyfile', '/cache/image.iso', '/mnt/ro/x.iso'),
    'cannot copyfile /mnt/ro/x.iso: the file system is read-only: choose a path on a writable file system',
    '/mnt/ro/x.iso',
  ],
  [
    'EMFILE says to raise the limit',
    errno('EMFILE', 'open', '/cache/stages/a'),
    'cannot open /cache/stages/a: too many open files in this process: raise the limit (ulimit -n) and run again',
    '/cache/stages/a',
  ],
  [
    'a cause deeper in the chain counts',
    new Error('writing the lock', { cause: errno('ENOTDIR', 'mkdir', '/etc/hostname/x') }),
    'cannot mkdir /etc/hostname/x: a part of the path is a file, not a folder: fix the path',
    '/etc/hostname/x',
  ],
])('%s (errno errors made by hand)', async (_name, err, message, path) => {
  const named = await toFileSystemError(err);
  expect(named).toBeInstanceOf(FileSystemError);
  expect(named!.message).toBe(message);
  expect(named!.details.path).toBe(path);
  expect(named!.cause).toBe(err);
});

test('bugs and missing files are not machine states: left as they are', async () => {
  expect(await toFileSystemError(new TypeError('x is undefined'))).toBeUndefined();
  expect(await toFileSystemError(errno('ENOENT', 'open', join(dir, 'nope')))).toBeUndefined();
  const usage = new UsageError('bad flag');
  await expect(withFileSystemErrors({ what: 'output iso' }, () => Promise.reject(usage))).rejects.toBe(usage);
});

test('a path the user named that cannot hold files is named (ENOENT counts there only)', async () => {
  // /proc takes no new files: mkdtemp there fails with ENOENT, as it would under a missing folder.
  const err = (await withFileSystemErrors({ what: '--oci', path: '/proc/x.tar' }, () =>
    mkdtemp('/proc/.x.tar.partial-'),
  ).catch((e: unknown) => e)) as FileSystemError;
  expect(err).toBeInstanceOf(FileSystemError);
  expect(err.message).toBe(
    '--oci /proc/x.tar: no such file or folder, or the folder cannot hold files: check the path',
  );
  expect(err.details).toEqual({ path: '/proc/x.tar', code: 'ENOENT' });
});

test('a tool\'s "No space left on device" is a full disk: the path, the need and what is free', async () => {
  const tar = new CommandError('command failed (exit status 2)', {
    command: 'tar -cf x.tar .',
    outputTail: 'tar: x.tar: Wrote only 4096 of 10240 bytes\ntar: No space left on device',
  });
  const dest = join(dir, 'out', 'root.tar');
  const err = await withFileSystemErrors(
    { what: 'output rootfs.tar', path: dest, neededBytes: async () => 3 * 1024 * 1024 },
    () => Promise.reject(tar),
  ).catch((e: unknown) => e as FileSystemError);
  expect(err).toBeInstanceOf(FileSystemError);
  // The output folder does not exist yet: the free space is asked of the nearest one that does.
  expect(err.message).toMatch(
    new RegExp(
      `^output rootfs\\.tar ${dest}: no space left on /\\S* \\(needs 3\\.0 MiB, [\\d.]+ [KMG]iB free\\): free some space or write to a larger disk$`,
    ),
  );
  expect(err.details).toMatchObject({ path: dest, code: 'ENOSPC', neededBytes: 3 * 1024 * 1024 });
  expect(err.details.freeBytes).toBeGreaterThan(0);
});

const asRoot = process.getuid?.() === 0 ? test : test.skip;

asRoot("node's recursive mkdir on a read-only mount says ENOENT; the error says read-only", async () => {
  const ro = join(dir, 'ro');
  await mkdir(ro);
  await execa('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
  try {
    const err = await mkdir(join(ro, 'cache', 'locks'), { recursive: true }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
    const named = await toFileSystemError(err);
    expect(named?.details.code).toBe('EROFS');
    expect(named?.message).toMatch(/the file system is read-only/);
  } finally {
    await execa('umount', [ro], { reject: false });
  }
});

test('the CLI names a cache path it cannot make, with exit 1, never "internal error"', async () => {
  await checkCliBuilt();
  const file = join(dir, 'a-file');
  await writeFile(file, '');
  const res = await runCli(['build', 'debian-12'], ROOT, { ISOBUILD_CACHE: join(file, 'cache') });
  expect(res.code).toBe(1);
  expect(res.stderr).not.toMatch(/internal error|--debug/);
  expect(res.stderr).toMatch(
    new RegExp(
      `^error: cannot mkdir ${file}/cache\\S*: a part of the path is a file, not a folder: fix the path$`,
      'm',
    ),
  );
  const json = await runCli(['--json', 'build', 'debian-12'], ROOT, { ISOBUILD_CACHE: join(file, 'cache') });
  // parseEvents checks every line against schemas/events.schema.json.
  expect(parseEvents(json.stdout).at(-1)).toMatchObject({
    type: 'error',
    kind: 'file-system',
    code: 'ENOTDIR',
    exitCode: 1,
  });
});
