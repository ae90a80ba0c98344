import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordHookFiles } from '../../../src/hooks/hook-files.js';
import type { StageMeta } from '../../../src/stage/types.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'isobuild-hook-files-'));
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc/kept'), 'a');
  await writeFile(join(root, 'etc/rewritten'), 'a');
  await writeFile(join(root, 'etc/replaced'), 'a');
  await writeFile(join(root, 'etc/removed'), 'a');
});
afterEach(() => rm(root, { recursive: true, force: true }));

test('records what a hook added, changed (in place or by a rename over it) and removed, under its name', async () => {
  const meta: StageMeta = { hookFiles: { 'base.sh': { added: ['/x'], changed: [], removed: [] } } };
  const result = await recordHookFiles(meta, root, 'staging.sh', async () => {
    await writeFile(join(root, 'etc/new'), 'b');
    // Same size: only ctime (and mtime) say it was written.
    await writeFile(join(root, 'etc/rewritten'), 'b');
    await writeFile(join(root, 'etc/tmp'), 'a');
    await rename(join(root, 'etc/tmp'), join(root, 'etc/replaced'));
    await rm(join(root, 'etc/removed'));
    return 7;
  });
  expect(result).toBe(7);
  expect(meta.hookFiles).toEqual({
    'base.sh': { added: ['/x'], changed: [], removed: [] },
    'staging.sh': {
      added: ['/etc/new'],
      changed: ['/etc/replaced', '/etc/rewritten'],
      removed: ['/etc/removed'],
    },
  });
});
