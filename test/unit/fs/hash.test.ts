import { createHash } from 'node:crypto';
import { link, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { sha256File } from '../../../src/fs/hash.js';

let tmp: DirectoryResult;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
});
afterEach(() => tmp.cleanup());

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

test('a file rewritten with the same size, even with its old mtime, is read again', async () => {
  const file = join(tmp.path, 'f');
  await writeFile(file, 'aaaa');
  await utimes(file, 1_000_000, 1_000_000);
  expect(await sha256File(file)).toBe(sha('aaaa'));
  await writeFile(file, 'bbbb');
  await utimes(file, 1_000_000, 1_000_000);
  expect(await sha256File(file)).toBe(sha('bbbb'));
});

test('hard links are one file: both names give its digest', async () => {
  const file = join(tmp.path, 'f');
  await writeFile(file, 'contents');
  await link(file, join(tmp.path, 'g'));
  expect(await sha256File(file)).toBe(sha('contents'));
  expect(await sha256File(join(tmp.path, 'g'))).toBe(sha('contents'));
});
