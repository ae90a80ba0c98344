import { execa } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURE, makeFakeRepo, type FakeRepo } from './fake-build.js';

// build --debug-shell: the fake build's iso-base writes a file, then a command fails; the real
// pipeline calls the real debug shell (bwrap, bash). `script` (util-linux) gives it the terminal
// a person would have, and the test types into it.
let r: FakeRepo;
beforeEach(async () => {
  r = await makeFakeRepo();
});
afterEach(() => r.remove());

const typed = [
  'echo "stage=$ISOBUILD_STAGE hook=[$ISOBUILD_HOOK] path=$PATH"',
  'echo "cwd=$(pwd)"; ls',
  'echo "helper=$(rootfs_dir /bundle)"',
  // Quotes split the words, so the terminal's echo of what was typed never matches the output.
  'touch "$ISOBUILD_ROOTFS/from-shell" && echo "root writ""able"',
  'test -e /home/. || echo "no host ""home"',
  'exit 5',
  '',
].join('\n');

test('a failed stage opens a shell in its work root with the hook environment; the build fails after it and removes the folder', async () => {
  const res = await execa(
    'script',
    ['-qec', `node '${FIXTURE}' '${r.cache}' '${r.repo}' fail`, '/dev/null'],
    {
      input: typed,
      reject: false,
      env: { FAKE_DEBUG_SHELL: '1', TERM: 'dumb' },
    },
  );
  const out = res.stdout;
  expect(out).toMatch(/stage iso-base failed: a debug shell in its work root \S+\/rootfs/);
  expect(out).toContain('[isobuild debug fake:iso-base]#');
  expect(out).toContain(
    'stage=iso-base hook=[] path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  );
  expect(out).toMatch(/cwd=\S+\/tmp\/fake-iso-base-\d+-[0-9a-f]+\/rootfs/);
  expect(out).toMatch(/half-done\s+usr/);
  expect(out).toContain('helper=/bundle/rootfs');
  expect(out).toContain('root writable');
  expect(out).toContain('no host home');
  // The shell's exit status is not the build's: the stage's error is.
  expect(out).toContain('error: stage iso-base: command failed (exit status 3)');
  expect(res.exitCode).toBe(1);
  expect(await readdir(join(r.cache, 'tmp'))).toEqual([]);
  expect(await readdir(join(r.cache, 'stages', 'fake')).catch(() => [])).toEqual([]);
});

test('a shell after a stage that hard-links its parent root works on a copy: nothing typed there changes the cache', async () => {
  const typed = [
    // In place, as an editor saving a file would: through the hard link this was the cached root.
    'echo changed >> usr/bin/busybox && echo "root ""appended"',
    'echo changed >> ../artifacts/base.list || echo "artifacts read-""only"',
    'exit',
    '',
  ].join('\n');
  const res = await execa(
    'script',
    ['-qec', `node '${FIXTURE}' '${r.cache}' '${r.repo}' linkfail`, '/dev/null'],
    { input: typed, reject: false, env: { FAKE_DEBUG_SHELL: '1', TERM: 'dumb' } },
  );
  const out = res.stdout;
  expect(out).toMatch(
    /stage tether failed: a debug shell in its work root \S+\/rootfs \(a copy: its files were hard links/,
  );
  expect(out).toContain('root appended');
  expect(out).toContain('artifacts read-only');
  expect(out).toContain('error: stage tether: command failed (exit status 4)');
  // iso-base's entry, which the failed stage's root and artifacts were linked to, is as it was made.
  const [entry] = await readdir(join(r.cache, 'stages', 'fake'));
  expect(entry).toMatch(/^iso-base-/);
  const busybox = await readFile(join(r.cache, 'stages', 'fake', entry!, 'rootfs/usr/bin/busybox'));
  expect(busybox).toEqual(Buffer.alloc(65536, 7));
  expect(await readFile(join(r.cache, 'stages', 'fake', entry!, 'artifacts/base.list'), 'utf8')).toBe(
    'busybox\n',
  );
  expect(await readdir(join(r.cache, 'tmp'))).toEqual([]);
});
