import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import { fixVmdkCid } from '../../../src/image/disk-formats.js';

// Real qemu-img VMDKs. qemu-img prints its random CID without leading zeros, so one in 16 has
// 7 digits: the same descriptor with an 8- and a 7-digit CID must give the same bytes.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-vmdk-'));
  await run('truncate', ['-s', '4M', join(dir, 'disk.raw')]);
  await run('qemu-img', [
    'convert',
    '-f',
    'raw',
    '-O',
    'vmdk',
    '-o',
    'subformat=streamOptimized',
    join(dir, 'disk.raw'),
    join(dir, 'a.vmdk'),
  ]);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The VMDK with its CID line set to `cid`, the rest of the NUL-padded descriptor shifted to fit. */
async function withCid(cid: string, name: string): Promise<string> {
  const bytes = await readFile(join(dir, 'a.vmdk'));
  const start = 512;
  const end = bytes.indexOf(0, start);
  const text = bytes.toString('latin1', start, end).replace(/\nCID=[0-9a-f]+\n/, `\nCID=${cid}\n`);
  const area = Buffer.alloc(end - start + 16);
  Buffer.from(text, 'latin1').copy(area);
  area.copy(bytes, start, 0, Math.min(area.length, bytes.indexOf(0, end + 1) - start));
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

test('an 8-digit and a 7-digit CID give the same VMDK bytes, and qemu-img still reads it', async () => {
  const long = await withCid('1234abcd', 'long.vmdk');
  const short = await withCid('234abcd', 'short.vmdk');
  expect(await fixVmdkCid(long, 'seed')).toBe(await fixVmdkCid(short, 'seed'));
  expect((await readFile(long)).equals(await readFile(short))).toBe(true);
  await copyFile(short, join(dir, 'check.vmdk'));
  const info = await run('qemu-img', ['info', '--output=json', join(dir, 'check.vmdk')]);
  expect(JSON.parse(info.stdout).format).toBe('vmdk');
  await run('qemu-img', ['check', join(dir, 'check.vmdk')]);
});

test('a file without a VMDK header is refused', async () => {
  await expect(fixVmdkCid(join(dir, 'disk.raw'), 'seed')).rejects.toThrow(/not a sparse VMDK/);
});
