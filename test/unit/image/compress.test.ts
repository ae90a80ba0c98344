import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import { compressFile } from '../../../src/image/compress.js';
import type { Compression } from '../../../src/spec/types.js';

// lz4: the legacy frame's magic (0x184C2102, little-endian), the only lz4 frame the kernel reads.
const MAGIC: Record<Compression, string> = {
  lz4: '02214c18',
  gzip: '1f8b08',
  zstd: '28b52ffd',
  xz: 'fd377a585a00',
};

describe('initrd compression (real lz4, gzip, zstd, xz)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-compress-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['lz4', 'gzip', 'zstd', 'xz'] as const)(
    '%s: the format the kernel reads, same bytes twice',
    async (c) => {
      const outs: Buffer[] = [];
      for (const n of [1, 2]) {
        const file = join(dir, `${c}-${n}.cpio`);
        await writeFile(file, 'initramfs '.repeat(10_000));
        const out = await compressFile(run, c, file);
        expect(out).toBe(file + { lz4: '.lz4', gzip: '.gz', zstd: '.zst', xz: '.xz' }[c]);
        outs.push(await readFile(out));
      }
      expect(outs[0]!.subarray(0, MAGIC[c].length / 2).toString('hex')).toBe(MAGIC[c]);
      expect(outs[0]!.equals(outs[1]!)).toBe(true);
      if (c === 'xz') {
        const list = await run('xz', ['--robot', '--list', join(dir, 'xz-1.cpio.xz')]);
        expect(list.stdout).toMatch(/\tCRC32\t/); // the kernel's xz decoder has no CRC64
      }
    },
  );
});
