import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FileSystemError, IsobuildError } from '../errors.js';
import { formatBytes, freeBytes, isNoSpace, mountPointOf } from './disk-space.js';
import { exists } from './exists.js';

/**
 * The one place that turns a file operation the machine refused (node's errno errors, or a
 * tool's "No space left on device") into a FileSystemError naming the path, the reason and what
 * to do. Failures a user can cause or meet are never reported as internal errors.
 */
const REASONS = {
  ENOSPC: { reason: 'no space left on the device', hint: 'free some space or write to a larger disk' },
  EDQUOT: { reason: 'disk quota exceeded', hint: 'free some space or write elsewhere' },
  EACCES: {
    reason: 'permission denied',
    hint: "check the path's owner and mode, or run as a user that may write there",
  },
  EPERM: { reason: 'operation not permitted', hint: "check the path's owner, mode and attributes (chattr)" },
  EROFS: { reason: 'the file system is read-only', hint: 'choose a path on a writable file system' },
  EMFILE: {
    reason: 'too many open files in this process',
    hint: 'raise the limit (ulimit -n) and run again',
  },
  ENFILE: { reason: 'too many open files on this machine', hint: 'close other programs and run again' },
  EIO: {
    reason: 'input/output error',
    hint: 'check the disk (dmesg); it may be failing or a mount was lost',
  },
  ENOTDIR: { reason: 'a part of the path is a file, not a folder', hint: 'fix the path' },
  ENAMETOOLONG: { reason: 'the path is too long', hint: 'use a shorter path' },
  // Only where the user named the path (withFileSystemErrors with a path): elsewhere a missing
  // file is more likely a bug than the machine's state.
  ENOENT: {
    reason: 'no such file or folder, or the folder cannot hold files',
    hint: 'check the path',
  },
} as const;
type MachineCode = keyof typeof REASONS;

/** What was being done, for the message, and how much it needed (asked only on a full disk). */
export interface FsErrorContext {
  /** e.g. "output iso"; defaults to the failed system call. */
  what?: string;
  /** The path to name; defaults to the one in the error. */
  path?: string;
  neededBytes?: () => Promise<number | undefined>;
}

interface Found {
  code: MachineCode;
  errno?: NodeJS.ErrnoException & { dest?: string };
}

/**
 * The machine-state cause of `err`, looking through its causes; a tool's full-disk output counts.
 * ENOENT counts only for a path the user named (`userPath`).
 */
async function findCause(err: unknown, userPath: boolean): Promise<Found | undefined> {
  for (let e = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const errno = e as NodeJS.ErrnoException;
    // Node's recursive mkdir says ENOENT where the folder it could not make is on a read-only
    // mount or in a folder it may not write: ask the nearest existing folder why.
    if (errno.code === 'ENOENT' && errno.syscall === 'mkdir' && errno.path) {
      const code = await whyNotWritable(await existingAncestor(errno.path));
      if (code) return { code, errno };
    }
    if (typeof errno.code === 'string' && errno.code in REASONS && (errno.code !== 'ENOENT' || userPath))
      return { code: errno.code as MachineCode, errno };
  }
  return isNoSpace(err) ? { code: 'ENOSPC' } : undefined;
}

async function whyNotWritable(dir: string): Promise<MachineCode | undefined> {
  try {
    await access(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && code in REASONS ? (code as MachineCode) : undefined;
  }
}

/** The nearest existing folder at or above `path`, where free space can be asked. */
async function existingAncestor(path: string): Promise<string> {
  let dir = resolve(path);
  while (!(await exists(dir)) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * A FileSystemError for `err` when a machine state caused it, else undefined. A full disk names
 * the mount, the bytes needed (when `context.neededBytes` knows) and the bytes free now.
 */
export async function toFileSystemError(
  err: unknown,
  context: FsErrorContext = {},
): Promise<FileSystemError | undefined> {
  if (err instanceof FileSystemError) return err;
  const found = await findCause(err, context.path !== undefined);
  if (!found) return undefined;
  const { code, errno } = found;
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  // copyfile and rename carry the destination apart: a full or read-only disk is the written one.
  const written = full || code === 'EROFS' ? (errno?.dest ?? errno?.path) : errno?.path;
  const path = context.path ?? written;
  const what = context.what ?? (errno?.syscall ? `cannot ${errno.syscall}` : 'cannot write');
  const { reason, hint } = REASONS[code];
  if (!path) return new FileSystemError(`${what}: ${reason}: ${hint}`, { path: '', code }, { cause: err });
  if (!full)
    return new FileSystemError(`${what} ${path}: ${reason}: ${hint}`, { path, code }, { cause: err });
  const at = await existingAncestor(path);
  const free = await freeBytes(at);
  const needed = await context.neededBytes?.().catch(() => undefined);
  const sizes = [
    needed !== undefined ? `needs ${formatBytes(needed)}` : undefined,
    free !== undefined ? `${formatBytes(free)} free` : undefined,
  ].filter(Boolean);
  const on = `${code === 'ENOSPC' ? 'no space left on' : 'disk quota exceeded on'} ${await mountPointOf(at)}`;
  return new FileSystemError(
    `${what} ${path}: ${on}${sizes.length ? ` (${sizes.join(', ')})` : ''}: ${hint}`,
    { path, code, neededBytes: needed, freeBytes: free },
    { cause: err },
  );
}

/**
 * Runs `fn`; a machine-state failure comes out as a FileSystemError with `context`. Other errors
 * (isobuild's own typed ones, bugs) pass unchanged.
 */
export async function withFileSystemErrors<T>(context: FsErrorContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof IsobuildError && !(err instanceof FileSystemError) && !isNoSpace(err)) throw err;
    throw (await toFileSystemError(err, context)) ?? err;
  }
}
