import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TETHER_HEADROOM_MIB, listFileSizes, tetherSizeMiB, tmpfsBytes } from '../../../src/tether/sizing.js';

describe('tether tmpfs sizing', () => {
  it('rounds every file up to a page, empty ones included', () => {
    expect(tmpfsBytes([0, 1, 4096, 4097])).toBe(4096 + 4096 + 4096 + 8192);
  });

  it('adds a fifth and the headroom, in whole MiB', () => {
    expect(tetherSizeMiB(0)).toBe(TETHER_HEADROOM_MIB);
    expect(tetherSizeMiB(10 * 1024 * 1024)).toBe(12 + TETHER_HEADROOM_MIB);
    expect(tetherSizeMiB(10 * 1024 * 1024 + 1)).toBe(13 + TETHER_HEADROOM_MIB);
  });

  it('counts files, folders and links under a tree', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'isobuild-sizing-'));
    try {
      await mkdir(join(dir, 'bin'));
      await writeFile(join(dir, 'bin', 'tether'), 'x'.repeat(5000));
      await symlink('lib64', join(dir, 'lib'));
      const sizes = await listFileSizes(dir);
      expect(sizes.sort((a, b) => a - b)).toEqual([4096, 4096, 5000]);
      expect(tmpfsBytes(sizes)).toBe(4096 * 4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
