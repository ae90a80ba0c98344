import { execa } from 'execa';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { listTree, makeFakeRepo, processesWith, startFakeBuild, type FakeRepo } from './fake-build.js';

// Fault row "cache on a nearly full disk": the cache on a 16 MiB tmpfs (mount needs root, as CI
// runs), fake stages through the real pipeline. Both ways a disk fills up: a tool's write fails
// (dd says "No space left on device") and isobuild's own write fails (node's ENOSPC).
const asRoot = process.getuid?.() === 0 ? test : test.skip;
let r: FakeRepo;
let mnt: string;
beforeEach(async () => {
  r = await makeFakeRepo();
  mnt = join(r.dir, 'small');
  await mkdir(mnt);
  if (process.getuid?.() === 0)
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0755', 'tmpfs', mnt]);
  r.cache = join(mnt, 'cache');
});
afterEach(async () => {
  await execa('umount', [mnt], { reject: false });
  await r.remove();
});

describe.each(['fill', 'nodefill'])('a full disk (%s)', (mode) => {
  asRoot(
    'is a stage error naming the disk and the need; exit 1; nothing left behind; next build is fine',
    async () => {
      // No earlier entry of the stage: "needs about" is at least what was free when it started.
      const res = await startFakeBuild(r, mode);
      expect(res.exitCode).toBe(1);
      expect(res.all).not.toMatch(/internal error|Emitted 'error' event/);
      expect(res.all).toMatch(
        new RegExp(
          `error: stage iso-base: no space left on ${mnt} \\(needs about \\d+ MiB or more; \\d+ MiB were free when it started\\)`,
        ),
      );
      expect(await listTree(join(r.cache, 'tmp'))).toEqual([]);
      expect(await readdir(join(r.cache, 'locks'))).toEqual([]);
      expect(await processesWith(r.repo)).toEqual([]);
      const next = await startFakeBuild(r, 'ok');
      expect(next.exitCode).toBe(0);
    },
  );
});

asRoot(
  'the output on a full disk is an error naming the output path and the space it needs; exit 1; nothing partial left',
  async () => {
    // The cache on the ordinary disk, the output on the 16 MiB tmpfs; the "ISO" is 24 MiB.
    r.cache = join(r.dir, 'cache');
    const out = join(mnt, 'bin', 'fake.iso');
    const res = await startFakeBuild(r, 'output', { FAKE_OUTPUT: out });
    expect(res.exitCode).toBe(1);
    expect(res.all).not.toMatch(/internal error|--debug/);
    expect(res.all).toMatch(
      new RegExp(
        `error: output iso ${out}: no space left on ${mnt} \\(needs 24\\.0 MiB, 1[56]\\.\\d MiB free\\): free some space or write to a larger disk`,
      ),
    );
    expect(await listTree(mnt)).toEqual(['bin']);
    expect(await listTree(join(r.cache, 'tmp'))).toEqual([]);
  },
);
