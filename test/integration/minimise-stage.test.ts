import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from '../../src/errors.js';
import type { MinimiseManifest } from '../../src/minimise/report.js';
import { measureTree } from '../../src/fs/measure-tree.js';
import { traceWorkload } from '../../src/minimise/tracer.js';
import { fixedEnv } from '../../src/minimise/env.js';
import { minimiseStage } from '../../src/stages/minimise.js';
import type { ResolvedSpec } from '../../src/spec/types.js';
import { run } from '../../src/exec/run.js';
import { makeContext, makeSpec, recordingLogger, runStageWith } from '../helpers/stage-context.js';
import { referenceRootTarball, unpackRoot } from './minimise-root.js';

/**
 * The minimise stage on a real Debian 12 root (mmdebstrap, essential + python3, iptables):
 * real strace, overlay, chroot; then the same workloads rerun in the minimised root.
 */
const PACKAGES = ['python3', 'iptables', 'busybox'];

const PROBE = `import json, sqlite3, ssl, os, hashlib
# A relative path opened through a directory fd (openat with a dirfd).
dfd = os.open('/etc/isobuild-test', os.O_RDONLY | os.O_DIRECTORY)
data = os.read(os.open('data.txt', os.O_RDONLY, dir_fd=dfd), 100).decode().strip()
n = sqlite3.connect(':memory:').execute('select 6*7').fetchone()[0]
print(json.dumps({'data': data, 'sqlite': n, 'ssl': ssl.OPENSSL_VERSION.split()[0],
                  'sha': hashlib.sha256(b'x').hexdigest()[:8],
                  'list': sorted(os.listdir('/usr/share/isobuild-list'))}))
`;

async function addFixtures(root: string): Promise<void> {
  await mkdir(join(root, 'etc/isobuild-test'), { recursive: true });
  await writeFile(join(root, 'etc/isobuild-test/data.txt'), 'forty-two\n');
  await writeFile(join(root, 'etc/isobuild-test/unused.txt'), 'never read\n');
  await writeFile(join(root, 'etc/isobuild-test/kept-by-glob.txt'), 'kept\n');
  await writeFile(join(root, 'etc/isobuild-test/at-exit.txt'), 'read when stopped\n');
  await mkdir(join(root, 'usr/share/isobuild-list'), { recursive: true });
  for (const n of ['a.txt', 'b.txt', 'c.txt']) await writeFile(join(root, 'usr/share/isobuild-list', n), n);
  await writeFile(join(root, 'opt/probe.py'), PROBE);
  await writeFile(join(root, 'usr/local/bin/hello'), '#!/bin/sh\necho "hello from a script"\n');
  await chmod(join(root, 'usr/local/bin/hello'), 0o755);
  // Fixed times, deepest first, so that two copies are the same input (reproducibility test).
  const touched = [
    'etc/isobuild-test/data.txt',
    'etc/isobuild-test/unused.txt',
    'etc/isobuild-test/kept-by-glob.txt',
    'etc/isobuild-test/at-exit.txt',
    'etc/isobuild-test',
    'etc',
    ...['a.txt', 'b.txt', 'c.txt'].map((n) => `usr/share/isobuild-list/${n}`),
    'usr/share/isobuild-list',
    'usr/share',
    'opt/probe.py',
    'opt',
    'usr/local/bin/hello',
    'usr/local/bin',
  ];
  for (const p of touched) await utimes(join(root, p), 1_700_000_000, 1_700_000_000);
}

function specWith(minimise: ResolvedSpec['minimise']): ResolvedSpec {
  return makeSpec({ minimise, raw: { minimise } as ResolvedSpec['raw'] });
}

const WORKLOADS = [
  { argv: ['python3', '/opt/probe.py'] },
  // dlopen'd xtables extensions: the multiport and tcp matches print their help.
  { argv: ['iptables', '-p', 'tcp', '-m', 'multiport', '--help'] },
  // NSS (nsswitch.conf, passwd, hosts) and the C.UTF-8 locale.
  { argv: ['getent', 'passwd', 'root'] },
  { argv: ['getent', 'hosts', 'localhost'] },
  // A script run through its #! line.
  { argv: ['hello'] },
  // A path relative to the workload's cwd; and writes that must not reach the root.
  { argv: ['cat', 'data.txt'], cwd: '/etc/isobuild-test' },
  {
    argv: ['sh', '-c', 'echo x > /var/tmp/created.txt && mkdir /var/tmp/newdir && cat /var/tmp/created.txt'],
  },
  // A long-running program is stopped with SIGTERM at its timeout; what it reads while exiting counts.
  {
    argv: ['sh', '-c', 'trap "cat /etc/isobuild-test/at-exit.txt; exit 0" TERM; while :; do sleep 0.2; done'],
    timeout: 2,
  },
];

describe('minimise stage on a Debian 12 root', () => {
  let dir: string;
  let root: string;
  let fullBytes = 0;
  let manifest: MinimiseManifest;
  const reasons = (p: string) => manifest.entries.find((e) => e.path === p)?.reasons ?? [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-minimise-'));
    root = join(dir, 'root');
    await unpackRoot(await referenceRootTarball(PACKAGES), root);
    await addFixtures(root);
    fullBytes = (await measureTree(root)).bytes;
    const ctx = makeContext({
      stage: 'minimise',
      rootfs: root,
      tmpDir: join(dir, 'tmp'),
      artifacts: join(dir, 'artifacts'),
      spec: specWith({
        workloads: WORKLOADS as NonNullable<ResolvedSpec['minimise']>['workloads'],
        keep: ['/etc/isobuild-test/kept-*'],
        list_dirs: ['/usr/share/isobuild-list'],
      }),
      logger: recordingLogger(),
    });
    await runStageWith(minimiseStage, ctx);
    manifest = JSON.parse(await readFile(join(dir, 'artifacts/minimise-manifest.json'), 'utf8'));
  }, 600_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps a small fraction of the root', async () => {
    const after = await measureTree(root);
    expect(after.bytes).toBe(manifest.after.bytes);
    expect(manifest.before.bytes).toBe(fullBytes);
    expect(after.bytes).toBeLessThan(fullBytes * 0.25);
    expect(existsSync(join(root, 'usr/share/doc'))).toBe(false);
    expect(existsSync(join(root, 'etc/isobuild-test/unused.txt'))).toBe(false);
  });

  it('keeps Python extension modules (dlopen) and their DT_NEEDED libraries', async () => {
    const sqliteExt = manifest.entries.find((e) => /lib-dynload\/_sqlite3\..*\.so$/.test(e.path));
    expect(sqliteExt?.reasons).toContain('traced');
    expect(reasons('/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6')).toContain('elf');
    expect(reasons('/usr/lib64/ld-linux-x86-64.so.2')).toEqual(expect.arrayContaining(['elf', 'symlink'])); // PT_INTERP, a link
    expect(reasons('/lib64')).toEqual(expect.arrayContaining(['elf', 'symlink']));
  });

  it('keeps the xtables plugins iptables dlopens and its alternatives symlink chain', () => {
    expect(reasons('/usr/lib/x86_64-linux-gnu/xtables/libxt_multiport.so')).toContain('traced');
    expect(reasons('/etc/alternatives/iptables')).toContain('symlink');
  });

  it('keeps NSS and locale files', () => {
    expect(reasons('/etc/nsswitch.conf')).toContain('traced');
    expect(reasons('/etc/passwd')).toContain('traced');
    expect(reasons('/etc/hosts')).toContain('traced');
    expect(reasons('/usr/lib/locale/C.utf8/LC_CTYPE')).toContain('traced');
  });

  it("keeps a script's #! interpreter", async () => {
    expect(reasons('/usr/local/bin/hello')).toContain('traced');
    expect(reasons('/usr/bin/dash')).toEqual(expect.arrayContaining(['shebang']));
    expect(await readlink(join(root, 'usr/bin/sh'))).toBe('dash');
  });

  it('stops a workload at its timeout with SIGTERM and keeps what it read while exiting', () => {
    expect(reasons('/etc/isobuild-test/at-exit.txt')).toContain('traced');
    expect(manifest.workloads[7]).toMatchObject({ exitCode: 0 });
  });

  it('resolves relative paths through dirfds and the cwd', () => {
    expect(reasons('/etc/isobuild-test/data.txt')).toContain('traced');
    expect(manifest.entries.find((e) => e.path === '/etc/isobuild-test/data.txt')?.via).toBeUndefined();
  });

  it('keeps every entry of a list_dirs directory and keep globs', () => {
    for (const n of ['a.txt', 'b.txt', 'c.txt'])
      expect(reasons(`/usr/share/isobuild-list/${n}`)).toContain('list_dirs');
    expect(reasons('/etc/isobuild-test/kept-by-glob.txt')).toContain('keep');
  });

  it('never lets the workloads write into the root, but keeps the parents of what they created', async () => {
    expect(existsSync(join(root, 'var/tmp/created.txt'))).toBe(false);
    expect(existsSync(join(root, 'var/tmp/newdir'))).toBe(false);
    expect((await lstat(join(root, 'var/tmp'))).mode & 0o7777).toBe(0o1777);
  });

  it('keeps modes, owners and mtimes (Python compares .pyc with its source mtime)', async () => {
    const env = fixedEnv({});
    const res = await traceWorkload({
      root,
      workload: { argv: ['python3', '-X', 'importtime', '/opt/probe.py'] },
      env: { ...env, PYTHONDONTWRITEBYTECODE: '' },
      tmpDir: join(dir, 'tmp2'),
      run,
      stage: 'test',
    });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('"sqlite": 42');
    // No module was recompiled: a stale .pyc would show up as an open of the .py for writing.
    expect(res.trace).not.toMatch(/\.pyc\.\d+"?, O_WRONLY/);
  });

  it('traces in a copy of the root when overlayfs is refused, still without touching the root', async () => {
    const res = await traceWorkload({
      root,
      workload: {
        argv: ['sh', '-c', 'echo y > /var/tmp/copy-mode && cat data.txt'],
        cwd: '/etc/isobuild-test',
      },
      env: fixedEnv({}),
      tmpDir: join(dir, 'tmp3'),
      run,
      stage: 'test',
      copy: true,
    });
    expect(res).toMatchObject({ exitCode: 0, stdout: 'forty-two\n' });
    expect(res.trace).toMatch(/openat\(AT_FDCWD<[^>]*\/merged\/etc\/isobuild-test>, "data.txt"/);
    expect(existsSync(join(root, 'var/tmp/copy-mode'))).toBe(false);
  });
});

/** Every path with its mode, owner, size, mtime, link target and content hash, sorted. */
async function describeTree(root: string): Promise<string> {
  const list = await run('sh', [
    '-c',
    'cd "$1" && find . -mindepth 1 -printf "%P %m %U:%G %s %T@ %l\\n" | LC_ALL=C sort && ' +
      'find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum',
    'describe',
    root,
  ]);
  return list.stdout;
}

describe('minimise reproducibility', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-minimise-repro-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same tree, byte for byte, from the same root twice', async () => {
    const trees: string[] = [];
    for (const n of [1, 2]) {
      const root = join(dir, `root${n}`);
      await unpackRoot(await referenceRootTarball(PACKAGES), root);
      await addFixtures(root);
      const ctx = makeContext({
        stage: 'minimise',
        rootfs: root,
        tmpDir: join(dir, `tmp${n}`),
        artifacts: join(dir, `artifacts${n}`),
        spec: specWith({
          workloads: [{ argv: ['python3', '/opt/probe.py'] }],
          list_dirs: ['/usr/share/isobuild-list'],
        }),
      });
      await runStageWith(minimiseStage, ctx);
      trees.push(await describeTree(root));
    }
    expect(trees[0]).toContain('usr/bin/python3.11 755 0:0');
    expect(trees[1]).toBe(trees[0]);
    const manifests = await Promise.all(
      [1, 2].map((n) => readFile(join(dir, `artifacts${n}/minimise-manifest.json`), 'utf8')),
    );
    expect(manifests[1]).toBe(manifests[0]);
  }, 300_000);
});

describe('minimise verification', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-minimise-verify-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails, naming the missing path, when an exclude glob removes a file the workload reads', async () => {
    const root = join(dir, 'root');
    await unpackRoot(await referenceRootTarball(PACKAGES), root);
    await addFixtures(root);
    const before = await measureTree(root);
    const ctx = makeContext({
      stage: 'minimise',
      rootfs: root,
      tmpDir: join(dir, 'tmp'),
      spec: specWith({
        workloads: [{ argv: ['cat', '/etc/isobuild-test/data.txt'] }],
        exclude: ['/etc/isobuild-test/data.txt'],
      }),
    });
    const err = await runStageWith(minimiseStage, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    const msg = (err as Error).message;
    expect(msg).toContain('stage minimise: verification failed');
    expect(msg).toContain('exit status 0 became 1');
    expect(msg).toMatch(/\n\s+\/etc\/isobuild-test\/data\.txt(\n|$)/);
    // The root is left as it was.
    expect(await measureTree(root)).toEqual(before);
  }, 300_000);

  it('names the folders a workload listed that lost entries, when list_dirs is missing', async () => {
    const root = join(dir, 'root2');
    await unpackRoot(await referenceRootTarball(PACKAGES), root);
    await addFixtures(root);
    const ctx = makeContext({
      stage: 'minimise',
      rootfs: root,
      tmpDir: join(dir, 'tmp2'),
      spec: specWith({ workloads: [{ argv: ['python3', '/opt/probe.py'] }] }),
    });
    const msg = String(await runStageWith(minimiseStage, ctx).catch((e: unknown) => (e as Error).message));
    expect(msg).toContain('stdout differs');
    expect(msg).toMatch(
      /lost entries \(add them to minimise\.list_dirs\):\n(\s+\/.*\n)*\s+\/usr\/share\/isobuild-list/,
    );
  }, 300_000);
});

describe('minimise reuses an earlier trace when the files it used are unchanged', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-minimise-reuse-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const spec = specWith({
    workloads: [
      // Looks for a file that is not there, then reads one that is.
      {
        argv: [
          'sh',
          '-c',
          'cat /etc/isobuild-test/maybe.txt 2>/dev/null; cat /etc/isobuild-test/kept-by-glob.txt',
        ],
      },
      { argv: ['python3', '/opt/probe.py'] },
    ],
    list_dirs: ['/usr/share/isobuild-list'],
  });

  /** Minimises a fresh copy of the reference root after `change`; its log lines and tree. */
  async function minimiseAfter(name: string, earlier: string[], change: (root: string) => Promise<void>) {
    const root = join(dir, name);
    await unpackRoot(await referenceRootTarball(PACKAGES), root);
    await addFixtures(root);
    await change(root);
    const logger = recordingLogger();
    const artifacts = join(dir, `${name}-artifacts`);
    const ctx = {
      ...makeContext({
        stage: 'minimise',
        rootfs: root,
        tmpDir: join(dir, `${name}-tmp`),
        artifacts,
        spec,
        logger,
      }),
      earlier,
    };
    await runStageWith(minimiseStage, ctx);
    const said = logger.lines.map((l) => l.msg);
    return {
      artifacts,
      tree: await describeTree(root),
      reused: said.filter((m) => m.startsWith('reused the trace')).length,
      traced: said.filter((m) => m.startsWith('traced ')).length,
      verifySkipped: said.some((m) => m.includes('not run again')),
    };
  }

  it('skips strace and the second run for a root changed elsewhere, and traces again what changed', async () => {
    const first = await minimiseAfter('first', [], async () => undefined);
    expect(first).toMatchObject({ reused: 0, traced: 2, verifySkipped: false });

    // A package's worth of files no workload reads: both traces stand, the kept root is the same.
    const elsewhere = await minimiseAfter('elsewhere', [first.artifacts], async (root) => {
      await mkdir(join(root, 'usr/share/unrelated'), { recursive: true });
      await writeFile(join(root, 'usr/share/unrelated/file'), 'not read by any workload\n');
      await writeFile(join(root, 'etc/isobuild-test/unused.txt'), 'changed, still never read\n');
      // As the pipeline clamps them: the kept folder's mtime is the first root's.
      await utimes(join(root, 'usr/share'), 1_700_000_000, 1_700_000_000);
    });
    expect(elsewhere).toMatchObject({ reused: 2, traced: 0, verifySkipped: true });
    expect(elsewhere.tree).toBe(first.tree);

    // The file sh reads changed (same size, same mtime: its bytes): sh is traced again,
    // python's trace still stands, and the new root is verified, not being the one verified before.
    const read = await minimiseAfter('read', [elsewhere.artifacts, first.artifacts], async (root) => {
      await writeFile(join(root, 'etc/isobuild-test/kept-by-glob.txt'), 'KEPT\n');
      await utimes(join(root, 'etc/isobuild-test/kept-by-glob.txt'), 1_700_000_000, 1_700_000_000);
    });
    expect(read).toMatchObject({ reused: 1, traced: 1, verifySkipped: false });
    expect(await readFile(join(dir, 'read/etc/isobuild-test/kept-by-glob.txt'), 'utf8')).toBe('KEPT\n');

    // A folder python lists gained an entry: its trace no longer stands.
    const listed = await minimiseAfter('listed', [first.artifacts], async (root) => {
      await writeFile(join(root, 'usr/share/isobuild-list/d.txt'), 'd.txt');
    });
    expect(listed).toMatchObject({ reused: 1, traced: 1, verifySkipped: false });
    expect(listed.tree).toContain('usr/share/isobuild-list/d.txt');

    // A path a workload looked for in vain appears: sh's trace no longer stands.
    const appeared = await minimiseAfter('appeared', [first.artifacts], async (root) => {
      await writeFile(join(root, 'etc/isobuild-test/maybe.txt'), 'here now\n');
    });
    expect(appeared).toMatchObject({ reused: 1, traced: 1 });
  }, 600_000);
});
