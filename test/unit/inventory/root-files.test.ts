import { createHash } from 'node:crypto';
import { lstat, mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { listRootFiles } from '../../../src/inventory/root-files.js';
import type { ManifestEntry } from '../../../src/cache/cache-integrity.js';

let tmp: DirectoryResult;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
});
afterEach(() => tmp.cleanup());

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function recordOf(root: string, path: string, digest: string): Promise<ManifestEntry> {
  const st = await lstat(join(root, path), { bigint: true });
  return [path, 'f', 0o644, 0, 0, Number(st.size), String(st.mtimeNs), digest];
}

test("a cache entry's recorded digest is used while size and mtime match, else the file is read", async () => {
  const root = tmp.path;
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc/a'), 'alpha');
  await writeFile(join(root, 'etc/b'), 'beta');
  const recorded = new Map([
    ['etc/a', await recordOf(root, 'etc/a', 'recorded-a')],
    ['etc/b', await recordOf(root, 'etc/b', 'recorded-b')],
  ]);
  // etc/b changed since it was recorded (another mtime): its digest is read from the file.
  await utimes(join(root, 'etc/b'), 1_000_000, 1_000_000);
  const files = await listRootFiles(root, recorded);
  expect(files.filter((f) => f.type === 'file').map((f) => [f.path, f.sha256])).toEqual([
    ['/etc/a', 'recorded-a'],
    ['/etc/b', sha('beta')],
  ]);
  expect((await listRootFiles(root)).find((f) => f.path === '/etc/a')?.sha256).toBe(sha('alpha'));
});
