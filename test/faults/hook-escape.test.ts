import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/run.js';
import { runHook } from '../../src/hooks/run-hook.js';
import { traceWorkload } from '../../src/minimise/tracer.js';
import { runInstallFunction } from '../../src/tether/bootstrap-layer.js';
import { INIT_SCRIPT_PATH } from '../../src/tether/layout.js';
import {
  hookFor,
  hookStageContext,
  recordingLogger,
  type TestStageContext,
} from '../helpers/stage-context.js';

// Escape attempts against the hook sandbox (issue 20), each run as a real hook: the real hook
// runner, real bash, real bubblewrap and the sandbox's real arguments. The attempts are a C
// program (fixtures/escape.c, compiled with the host's gcc here) and shell lines; each prints
// "ESCAPED ..." when it worked and "held ...: ERRNO" when the kernel refused it.

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'escape.c');
/** Linux capability numbers (linux/capability.h) the checks below name. */
const CAP = { chown: 0, dac_read_search: 2, net_raw: 13, sys_module: 16, sys_chroot: 18, mknod: 27 } as const;
/** CAP_SYS_MODULE..CAP_SYS_TTY_CONFIG, minus CAP_SYS_CHROOT which chroot into the root needs. */
const SYS_CAPS = [16, 17, 19, 20, 21, 22, 23, 24, 25, 26];

let dir: string;
let repoDir: string;
/** A host folder no sandbox binds, on the same file system as the root being built. */
let hidden: string;
/** A host folder outside every path the sandbox binds, with a secret in it. */
let outside: string;
let server: Server;
let connections = 0;
let port: number;
/** What the inode-2 attempt creates, relative to the host file system's root. */
const shockerFile = `tmp/isobuild-escape-${process.pid}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-escape-'));
  repoDir = join(dir, 'repos', 'demo');
  hidden = join(dir, 'hidden');
  await mkdir(repoDir, { recursive: true });
  await mkdir(hidden);
  await writeFile(join(repoDir, 'keep'), '');
  await writeFile(join(hidden, 'host-secret'), 'hidden\n');
  outside = await mkdtemp('/var/lib/isobuild-escape-');
  await writeFile(join(outside, 'secret'), 'outside\n');
  await run('gcc', ['-O1', '-Wall', '-o', join(repoDir, 'escape'), FIXTURE]);
  // The attacker's "known handle" of a folder the sandbox hides (a handle is only inode and
  // generation numbers: guessable; here read on the host to skip the guessing).
  await run(join(repoDir, 'escape'), ['handle-get', hidden, join(repoDir, 'handle')]);
  server = createServer((socket) => {
    connections += 1;
    // A client that goes away before reading is no failure of this server.
    socket.on('error', () => undefined);
    socket.end('hello\n');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((done) => server.close(done));
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
  await rm(`/${shockerFile}`, { force: true });
});

let attempt = 0;
/** Runs `script` as the repo's base.sh through the hook runner; returns what it printed. */
async function runAttempt(script: string, raw: object = {}): Promise<string> {
  attempt += 1;
  const { ctx } = await hookStageContext(repoDir, join(dir, `work-${attempt}`), raw);
  const hook = join(dir, `hook-${attempt}`, 'base.sh');
  await mkdir(join(dir, `hook-${attempt}`));
  await writeFile(hook, `exec >"$TMPDIR/report" 2>&1\nset +e\nescape=${repoDir}/escape\n${script}\ntrue\n`);
  await runHook(ctx, hookFor(ctx, 'base', hook));
  return readFile(join(ctx.tmpDir, 'report'), 'utf8');
}

test('open_by_handle_at through the writable root (the shocker technique) is refused', async () => {
  const out = await runAttempt(
    `"$escape" handle-root "$ISOBUILD_ROOTFS" ${shockerFile}\n"$escape" handle-known "$REPODIR/handle" "$ISOBUILD_ROOTFS"`,
  );
  expect(out).toMatch('held open_by_handle_at inode 2: EPERM');
  expect(out).toMatch('held open_by_handle_at known handle: EPERM');
  expect(out).not.toMatch('ESCAPED');
  expect(existsSync(`/${shockerFile}`)).toBe(false);
});

test('open_by_handle_at through a read-only mount (the repo folder, /usr) is refused', async () => {
  const out = await runAttempt(
    `"$escape" handle-root "$REPODIR" ${shockerFile}\n"$escape" handle-known "$REPODIR/handle" "$REPODIR"\n` +
      `"$escape" handle-known "$REPODIR/handle" /usr`,
  );
  expect(out.match(/held open_by_handle_at known handle: EPERM/g)).toHaveLength(2);
  expect(out).toMatch('held open_by_handle_at inode 2: EPERM');
  expect(out).not.toMatch('ESCAPED');
  expect(existsSync(`/${shockerFile}`)).toBe(false);
});

test('name_to_handle_at is refused', async () => {
  const out = await runAttempt(`"$escape" name-handle "$ISOBUILD_ROOTFS"`);
  expect(out).toMatch('held name_to_handle_at: EPERM');
});

test('the capabilities hold no CAP_DAC_READ_SEARCH, CAP_NET_RAW or CAP_SYS_* but chroot, and keep chown and mknod', async () => {
  const out = await runAttempt('grep CapEff /proc/self/status');
  const caps = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(out)![1]}`);
  const has = (bit: number) => (caps >> BigInt(bit)) & 1n;
  expect([CAP.dac_read_search, CAP.net_raw, ...SYS_CAPS].map(has)).toEqual(
    [CAP.dac_read_search, CAP.net_raw, ...SYS_CAPS].map(() => 0n),
  );
  expect([CAP.chown, CAP.mknod, CAP.sys_chroot].map(has)).toEqual([1n, 1n, 1n]);
});

test('raw sockets cannot be opened', async () => {
  const out = await runAttempt('"$escape" raw-socket');
  expect(out).toMatch('held AF_PACKET raw socket: EPERM');
  expect(out).toMatch('held AF_INET raw socket: EPERM');
});

test("a TCP service on the host's 127.0.0.1 cannot be reached", async () => {
  const before = connections;
  const out = await runAttempt(
    `if exec 3<>/dev/tcp/127.0.0.1/${port}; then echo "ESCAPED connected"; else echo "held connect"; fi`,
  );
  expect(out).toMatch('held connect');
  expect(out).not.toMatch('ESCAPED');
  expect(connections).toBe(before);
});

test('hooks: { network: true } shares the host network: the same service answers', async () => {
  const before = connections;
  const out = await runAttempt(`exec 3<>/dev/tcp/127.0.0.1/${port} && head -n1 <&3`, {
    hooks: { network: true },
  });
  expect(out).toBe('hello\n');
  expect(connections).toBe(before + 1);
});

test('the repo folder cannot be written', async () => {
  const out = await runAttempt(
    `touch "$REPODIR/escaped" && echo "ESCAPED touch"\nrm -f "$REPODIR/keep" && echo "ESCAPED rm"`,
  );
  expect(out).toMatch(/Read-only file system/);
  expect(out).not.toMatch('ESCAPED');
  expect(existsSync(join(repoDir, 'escaped'))).toBe(false);
  expect(existsSync(join(repoDir, 'keep'))).toBe(true);
});

test('host files outside the bound paths cannot be read', async () => {
  const out = await runAttempt(
    `cat ${outside}/secret && echo "ESCAPED ${outside}"\ncat ${hidden}/host-secret && echo "ESCAPED ${hidden}"\n` +
      'for d in /var/lib /opt /srv /mnt /home; do test -e $d && echo "ESCAPED sees $d"; done',
  );
  expect(out).not.toMatch(/ESCAPED|^outside$|^hidden$/m);
});

test("a block device node of the host's disk cannot be opened, wherever it is made", async () => {
  const [major, minor] = await hostDisk();
  const places = ['"$ISOBUILD_ROOTFS/disk"', '/dev/disk', '"$TMPDIR/disk"', '/tmp/disk', '/root/disk'];
  const out = await runAttempt(
    places
      .map((p) => `mknod ${p} b ${major} ${minor} && head -c 512 ${p} >/dev/null && echo "ESCAPED read ${p}"`)
      .join('\n'),
  );
  expect(out).not.toMatch('ESCAPED');
  // mknod itself still works where the root is built (VIC's hooks make /dev/null there).
  expect(out).toMatch(/rootfs\/disk' for reading: Permission denied/);
});

test('no new user namespace: unshare -U, unshare(2) and clone(2) with CLONE_NEWUSER are refused', async () => {
  const out = await runAttempt(
    `"$escape" userns\nunshare -U true && echo "ESCAPED unshare -U"\n` +
      `unshare -Urm mount -t tmpfs none "$TMPDIR" && echo "ESCAPED mount in a user namespace"`,
  );
  expect(out).toMatch('held unshare(CLONE_NEWUSER): EPERM');
  expect(out).toMatch('held clone(CLONE_NEWUSER): EPERM');
  expect(out).not.toMatch('ESCAPED');
});

test('clone3 reports ENOSYS, so libc falls back to clone (which the filter can read); forks still work', async () => {
  const out = await runAttempt(`"$escape" clone3\n( echo subshell ) | cat`);
  expect(out).toBe('held clone3: ENOSYS\nsubshell\n');
});

test('keyctl, ptrace, bpf, userfaultfd and mount are refused', async () => {
  const out = await runAttempt('"$escape" kernel "$TMPDIR"');
  for (const call of [
    'keyctl(GET_KEYRING_ID)',
    'ptrace(TRACEME)',
    'bpf(MAP_CREATE)',
    'userfaultfd',
    'mount tmpfs',
  ])
    expect(out).toMatch(`held ${call}: EPERM`);
});

test("the host kernel's sysctls cannot be written (kernel.core_pattern runs a program as the host's root)", async () => {
  // Writes back the value it read: harmless where it is not refused.
  const out = await runAttempt(
    'for s in kernel/core_pattern kernel/panic; do v=$(cat /proc/sys/$s) && echo "$v" > /proc/sys/$s && echo "ESCAPED wrote $s"; done',
  );
  expect(out).not.toMatch('ESCAPED');
  expect(out).toMatch(/core_pattern: Read-only file system/);
});

test("init.sh's install functions run in the same confinement (their root as /)", async () => {
  const root = join(dir, 'install-root');
  await makeRootWith(root, [
    '/usr/bin/bash',
    '/usr/bin/mkdir',
    '/usr/bin/ln',
    '/usr/bin/grep',
    join(repoDir, 'escape'),
  ]);
  await writeFile(
    join(root, INIT_SCRIPT_PATH),
    `install-iptables () {
  exec >/report 2>&1
  /escape handle-root / ${shockerFile}
  /escape raw-socket
  /escape userns
  /escape kernel /tmp
  grep CapEff /proc/self/status
  if exec 3<>/dev/tcp/127.0.0.1/${port}; then echo "ESCAPED connected"; fi
  v=$(</proc/sys/kernel/core_pattern) && echo "$v" > /proc/sys/kernel/core_pattern && echo "ESCAPED wrote core_pattern"
  return 0
}
`,
  );
  const before = connections;
  const logger = recordingLogger();
  const ctx = {
    stage: 'tether',
    rootfs: root,
    logger,
    run: (file: string, args: readonly string[], opts?: object) =>
      run(file, args, { stage: 'tether', logger, ...opts }),
  } as unknown as TestStageContext;
  const layer = {
    repoInit: 'init.sh',
    profile: 'isobuild',
    init: '/bin/init',
    sandboxed: true,
    network: false,
  } as const;
  expect(await runInstallFunction(ctx, layer, 'install-iptables', '/tether')).toBe(true);
  const out = await readFile(join(root, 'report'), 'utf8');
  expect(out).not.toMatch('ESCAPED');
  for (const held of [
    'open_by_handle_at inode 2: EPERM',
    'AF_PACKET raw socket: EPERM',
    'unshare(CLONE_NEWUSER): EPERM',
    'keyctl(GET_KEYRING_ID): EPERM',
    'mount tmpfs: EPERM',
  ])
    expect(out).toMatch(`held ${held}`);
  expect(out).toMatch(/core_pattern: Read-only file system/);
  expect(out).toMatch('CapEff:\t00000000a80405fb');
  expect(connections).toBe(before);
});

test("a workload the minimiser traces (init.sh's install functions) gets the same limits, but for seccomp", async () => {
  const root = join(dir, 'trace-root');
  await makeRootWith(root, [
    '/usr/bin/bash',
    '/usr/bin/grep',
    '/usr/bin/head',
    '/usr/bin/ls',
    '/usr/bin/mknod',
    join(repoDir, 'escape'),
  ]);
  const [major, minor] = await hostDisk();
  const script = [
    'grep CapEff /proc/self/status',
    `/escape handle-root / ${shockerFile}`,
    '/escape raw-socket',
    '/escape kernel /tmp',
    'ls /dev',
    `for p in /dev/disk /tmp/disk; do mknod $p b ${major} ${minor} && head -c 512 $p >/dev/null && echo "ESCAPED read $p"; done`,
    'v=$(</proc/sys/kernel/core_pattern) && echo "$v" > /proc/sys/kernel/core_pattern && echo "ESCAPED wrote core_pattern"',
    // access(2) only: a real write to the host's sysfs would change the host kernel.
    '[ -w /sys/kernel/profiling ] && echo "ESCAPED sysfs writable"',
    `if exec 3<>/dev/tcp/127.0.0.1/${port}; then echo "ESCAPED connected"; fi`,
    // Signal 0 only checks that the test's own process could be signalled.
    `kill -0 ${process.pid} && echo "ESCAPED can signal a host process"`,
    'true',
  ].join('\n');
  const before = connections;
  const res = await traceWorkload({
    root,
    workload: { argv: ['/usr/bin/bash', '-c', script] },
    env: { PATH: '/usr/bin' },
    tmpDir: join(dir, 'trace-tmp'),
    run: (file, args, opts) => run(file, args, opts),
    stage: 'minimise',
  });
  const out = res.stdout + res.stderr;
  expect(res.exitCode).toBe(0);
  // No seccomp filter here (strace has its own): keyctl, which needs no capability, goes through.
  expect(out.match(/ESCAPED .*/g)).toEqual(['ESCAPED keyctl(GET_KEYRING_ID)']);
  expect(out).toMatch('CapEff:\t00000000a80405fb');
  expect(out).toMatch('held open_by_handle_at inode 2: EPERM');
  expect(out).toMatch('held AF_PACKET raw socket: EPERM');
  expect(out).toMatch('held mount tmpfs: EPERM');
  expect(out).toMatch(/^fd\nfull\nnull\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero$/m);
  expect(out).toMatch(/core_pattern: Read-only file system/);
  expect(connections).toBe(before);
});

/** A root holding the given host programs and the libraries they load, at the same paths. */
async function makeRootWith(root: string, programs: string[]): Promise<void> {
  for (const d of ['usr/bin', 'usr/lib', 'usr/lib64', 'etc/isobuild', 'tmp', 'proc', 'dev', 'sys'])
    await mkdir(join(root, d), { recursive: true });
  // The host's merged-/usr links, so the loader's and libraries' usual paths resolve.
  for (const [link, target] of [
    ['bin', 'usr/bin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ] as const)
    await symlink(target, join(root, link));
  const files = new Set<string>();
  for (const program of programs) {
    const ldd = await run('ldd', [program], { allowFailure: true });
    for (const [, path] of ldd.stdout.matchAll(/(\/\S+) \(0x/g)) files.add(path!);
  }
  // At the path the loader asks for (copyFile follows the host's links; the root's own lead into usr/).
  for (const file of files) {
    await mkdir(join(root, dirname(file)), { recursive: true });
    await copyFile(file, join(root, file));
  }
  for (const program of programs)
    await copyFile(program, join(root, program.startsWith(repoDir) ? '/escape' : program));
  await run('chmod', ['755', join(root, 'escape')]);
}

/** Major and minor of the host's first disk, from /proc/partitions. */
async function hostDisk(): Promise<[number, number]> {
  const rows = (await readFile('/proc/partitions', 'utf8')).split('\n').slice(2);
  const first = rows.map((r) => r.trim().split(/\s+/)).find((cols) => cols.length === 4);
  if (!first) throw new Error('/proc/partitions lists no disk: this test needs one');
  return [Number(first[0]), Number(first[1])];
}
