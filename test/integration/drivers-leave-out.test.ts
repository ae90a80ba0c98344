import { chmod, chown, link, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { exists } from '../../src/fs/exists.js';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { run } from '../../src/exec/run.js';
import { silentLogger } from '../../src/log/logger.js';
import { readManifest } from '../../src/cache/cache-integrity.js';
import { cacheLayout } from '../../src/cache/cache.js';
import { runPipeline, type PipelineResult } from '../../src/pipeline/run-pipeline.js';
import { driversStage } from '../../src/stages/drivers.js';
import { defineStage, type BuildPlan, type Stage } from '../../src/stage/types.js';
import { makeSpec, planOfStages } from '../helpers/stage-context.js';
import { cloudKernel, type CloudKernel } from './boot-fixtures.js';

// The drivers stage (modules: drivers) has the pipeline leave the modules it prunes out of its
// copy of the parent's root (Stage.leaveOut). Built both ways through the real pipeline, with
// Debian's cloud kernel (its ~1,100 real modules, real depmod) in a merged-/usr root that has
// hard links, xattrs, set-id bits, odd owners and an empty folder: the roots must be the same.

let tmp: DirectoryResult;
let kernel: CloudKernel;
let parentRoot: string;
let withLeaveOut: PipelineResult;
let copyAll: PipelineResult;

/** iso-base stand-in: the prepared root, as a cached iso-base entry would hold it. */
function fixtureIsoBase(root: string, version: string): Stage {
  return defineStage<{ root: string }>({
    name: 'iso-base',
    version: 1,
    mutatesRoot: true,
    applies: () => true,
    inputs: () => ({ root }),
    sources: async () => ({ files: [] }),
    commands: () => [],
    describe: () => ['copy the test root'],
    run: async (ctx) => {
      await run('cp', ['-a', '--no-target-directory', root, ctx.rootfs]);
      ctx.meta.kernelVersion = version;
    },
  });
}

function planOf(stages: Stage[], cache: string): BuildPlan {
  const base = planOfStages({ stages, dir: tmp.path, repoDir: join(tmp.path, 'repo'), cache });
  return {
    ...base,
    spec: makeSpec({ name: 'demo', repoDir: join(tmp.path, 'repo'), modules: 'drivers' }),
  };
}

/** Every entry of a tree: path, type, mode, owner, size, file mtime, sha256 or link target (the cache manifest). */
async function treeOf(result: PipelineResult): Promise<unknown> {
  const manifest = await readManifest(result.final.dir);
  const tree = manifest!.trees.rootfs!;
  return 'entries' in tree ? tree.entries : tree;
}

/** Hard-link groups (paths sharing an inode) and xattrs of every path, which the manifest does not record. */
async function linksAndXattrs(root: string): Promise<{ links: string; xattrs: string }> {
  // Groups named by their paths: inode numbers differ between the two copies.
  const links = await run(
    'sh',
    [
      '-c',
      'find . ! -type d -links +1 -printf "%i %p\\n" | sort -k1,1n -k2 | awk \'{g[$1]=g[$1]" "$2} END{for(i in g)print g[i]}\' | sort',
    ],
    { cwd: root },
  );
  const xattrs = await run(
    'sh',
    ['-c', 'find . -print0 | LC_ALL=C sort -z | xargs -0 getfattr --no-dereference --dump --match=-'],
    { cwd: root },
  );
  return { links: links.stdout, xattrs: xattrs.stdout };
}

beforeAll(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  kernel = await cloudKernel();
  parentRoot = join(tmp.path, 'root');
  const usr = join(parentRoot, 'usr');
  await mkdir(join(usr, 'lib/modules'), { recursive: true });
  await mkdir(join(usr, 'bin'), { recursive: true });
  await mkdir(join(tmp.path, 'repo'));
  await symlink('usr/lib', join(parentRoot, 'lib'));
  await run('cp', ['-a', kernel.modules, join(usr, 'lib/modules', kernel.version)]);
  // An empty folder among the modules: pruning removes it, as it removes emptied ones.
  await mkdir(join(usr, 'lib/modules', kernel.version, 'kernel/empty'));
  await run('depmod', ['-b', parentRoot, kernel.version]);
  await writeFile(join(usr, 'bin/perl'), 'a hard-linked file\n');
  await link(join(usr, 'bin/perl'), join(usr, 'bin/perl5.36.0'));
  await writeFile(join(usr, 'bin/su'), 'set-uid\n', { mode: 0o4755 });
  await chmod(join(usr, 'bin/su'), 0o4755);
  await mkdir(join(parentRoot, 'srv/private'), { recursive: true });
  await chown(join(parentRoot, 'srv/private'), 1234, 5678);
  await chmod(join(parentRoot, 'srv/private'), 0o2750);
  await writeFile(join(parentRoot, 'srv/private/data'), 'x');
  await chown(join(parentRoot, 'srv/private/data'), 1234, 5678);
  await run('setfattr', ['-n', 'user.isobuild', '-v', 'kept', join(usr, 'bin/perl')]);
  // A file capability, as ping's; and an xattr on a folder the copy lists (it holds left-out
  // modules), which cp --parents alone would not copy.
  await run('setfattr', [
    '-n',
    'security.capability',
    '-v',
    '0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=',
    join(usr, 'bin/su'),
  ]);
  await run('setfattr', ['-n', 'trusted.isobuild', '-v', 'folder', join(usr, 'lib/modules')]);

  const isoBase = fixtureIsoBase(parentRoot, kernel.version);
  withLeaveOut = await runPipeline(planOf([isoBase, driversStage], 'cache-a'), silentLogger);
  // Today's way before Stage.leaveOut: copy everything, then prune.
  const copyEverything = { ...driversStage, leaveOut: undefined } as Stage;
  copyAll = await runPipeline(planOf([isoBase, copyEverything], 'cache-b'), silentLogger);
}, 300_000);

afterAll(async () => {
  await tmp?.cleanup();
});

test('the drivers stage leaves more than a thousand modules out of its copy of the parent root', async () => {
  const leftOut = await driversStage.leaveOut!(
    withLeaveOut.entries[0]!.rootfs,
    driversStage.inputs(planOf([], 'unused')),
    { kernelVersion: kernel.version },
  );
  expect(leftOut.length).toBeGreaterThan(1000);
  // Resolved through the root's lib -> usr/lib link, never by the host's realpath.
  expect(leftOut.every((p) => p.startsWith(`usr/lib/modules/${kernel.version}/kernel/`))).toBe(true);
  // Both builds logged the same count: the left-out modules count as pruned.
  const logs = await Promise.all(
    ['cache-a', 'cache-b'].map((c) =>
      readFile(join(cacheLayout(join(tmp.path, c)).logs('demo'), 'drivers.log'), 'utf8'),
    ),
  );
  const pruned = logs.map((l) => /pruned (\d+) modules, kept \d+/.exec(l)?.[1]);
  expect(pruned[0]).toBe(String(leftOut.length));
  expect(pruned[1]).toBe(pruned[0]);
});

test('the root is the same as copying everything then pruning: paths, modes, owners, sizes, file mtimes, contents, links', async () => {
  const [a, b] = await Promise.all([treeOf(withLeaveOut), treeOf(copyAll)]);
  expect((a as unknown[]).length).toBeGreaterThan(50);
  expect(a).toEqual(b);
  expect(withLeaveOut.final.meta).toEqual(copyAll.final.meta);
  expect(withLeaveOut.final.meta.drivers?.length).toBeGreaterThan(0);
});

test('hard links and xattrs are kept as a full copy keeps them', async () => {
  const [a, b] = await Promise.all([
    linksAndXattrs(withLeaveOut.final.rootfs),
    linksAndXattrs(copyAll.final.rootfs),
  ]);
  expect(a.links).toContain('./usr/bin/perl ./usr/bin/perl5.36.0');
  expect(a.xattrs).toContain('user.isobuild="kept"');
  expect(a.xattrs).toContain('trusted.isobuild="folder"');
  expect(a).toEqual(b);
});

test('the folders on the way to the left-out modules keep their modes and owners; emptied ones are gone', async () => {
  const modules = `usr/lib/modules/${kernel.version}`;
  const stat = (root: string) =>
    run('stat', ['-c', '%n %a %u %g', '.', 'usr', 'usr/lib', 'usr/lib/modules', modules, 'srv/private'], {
      cwd: root,
    });
  const [a, b] = await Promise.all([stat(withLeaveOut.final.rootfs), stat(copyAll.final.rootfs)]);
  expect(a.stdout).toEqual(b.stdout);
  expect(a.stdout).toContain('srv/private 2750 1234 5678');
  expect(await exists(join(withLeaveOut.final.rootfs, modules, 'kernel/empty'))).toBe(false);
  expect(await exists(join(parentRoot, modules, 'kernel/empty'))).toBe(true);
});
