import { readFile, statfs } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

/** The mount point holding `path` (the longest mount point that is a prefix of it). */
export async function mountPointOf(path: string): Promise<string> {
  const target = resolve(path);
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  let best = '/';
  for (const line of info.split('\n')) {
    const raw = line.split(' ')[4];
    if (!raw) continue;
    const point = raw.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (
      (target === point || target.startsWith(point.endsWith(sep) ? point : point + sep)) &&
      point.length > best.length
    )
      best = point;
  }
  return best;
}

/** Bytes free to an unprivileged writer on the file system holding `path`; undefined when unknown. */
export async function freeBytes(path: string): Promise<number | undefined> {
  try {
    const st = await statfs(path);
    return st.bavail * st.bsize;
  } catch {
    return undefined;
  }
}

/** A full disk shows up as ENOSPC from node, or as a tool's message in its output. */
export function isNoSpace(err: unknown): boolean {
  for (let e = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return true;
    const details = (e as { details?: { outputTail?: string } }).details;
    if (details?.outputTail && /No space left on device|ENOSPC/.test(details.outputTail)) return true;
    if (e instanceof Error && /ENOSPC|No space left on device/.test(e.message)) return true;
    if (typeof e !== 'object') break;
  }
  return false;
}

export const MiB = 1024 * 1024;

/** Human-readable size: 12.3 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
