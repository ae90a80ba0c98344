import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { tail } from '../exec/run.js';
import { escapeInSingleQuotes, quoteWord } from '../exec/shell-quote.js';
import { SANDBOX_CAPS } from '../hooks/sandbox.js';

/**
 * Runs one workload under strace, chrooted into an overlay of a root so that its writes
 * never reach the root itself, in private mount and network namespaces (the mounts vanish
 * with the namespace; the workload cannot reach the network, which the appliance may lack).
 */

export interface Workload {
  argv: readonly string[];
  cwd?: string;
  /** Seconds before SIGTERM (then SIGKILL 5 s later). */
  timeout?: number;
  exit?: number;
  stdin?: string;
}

export interface WorkloadResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The strace output, as text. */
  trace: string;
  /** The host path the chroot was made at (strip it from -y paths). */
  chrootPath: string;
}

export type RunFn = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export const DEFAULT_TIMEOUT = 60;
/** Seconds between SIGTERM and SIGKILL: files used while exiting matter too. */
const KILL_AFTER = 5;

/** What strace records: every file and process call, cwd changes and directory listings. */
export const STRACE_FILTER = 'trace=%file,%process,chdir,fchdir,getdents,getdents64';

/**
 * The fixed script unshare runs. It is a constant: every value reaches it as a positional
 * argument, never spliced into the text. Overlay first; a plain copy when the kernel refuses it.
 * The workload is repo code (init.sh's install functions, the spec's workloads), so it gets what
 * the hook sandbox gives (docs/hooks.md): a /dev of its own without the host's disks, every
 * mount nodev (a node mknod makes cannot be opened), a read-only sysfs, /proc/sys read-only (kernel.core_pattern runs a program as the host's root),
 * and only the sandbox's capabilities (setpriv's bounding set; strace, outside it, keeps its own).
 */
const WRAPPER = `set -eu
lower=$1; upper=$2; work=$3; merged=$4; trace=$5; secs=$6; cwd=$7; killafter=$8; how=$9; caps=\${10}
shift 10
if [ "$how" = copy ] || ! mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$merged" 2>/dev/null; then
  cp -a "$lower/." "$merged/"
fi
mount --bind "$merged" "$merged"
mount -o remount,bind,nodev,nosuid "$merged"
for d in proc sys dev; do [ -d "$merged/$d" ] || mkdir -p "$merged/$d"; done
mount -t proc -o nosuid,nodev,noexec proc "$merged/proc"
mount --bind "$merged/proc/sys" "$merged/proc/sys"
mount -o remount,bind,ro "$merged/proc/sys"
[ ! -e "$merged/proc/sysrq-trigger" ] || mount --bind /dev/null "$merged/proc/sysrq-trigger"
if ! mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$merged/sys" 2>/dev/null; then
  mount --rbind /sys "$merged/sys"
  mount -o remount,bind,ro "$merged/sys"
fi
mount -t tmpfs -o nosuid,nodev,mode=755 tmpfs "$merged/dev"
for n in null zero full random urandom tty; do
  touch "$merged/dev/$n"
  mount --bind "/dev/$n" "$merged/dev/$n"
done
mkdir "$merged/dev/shm" "$merged/dev/pts"
ln -s /proc/self/fd "$merged/dev/fd"
ln -s /proc/self/fd/0 "$merged/dev/stdin"
ln -s /proc/self/fd/1 "$merged/dev/stdout"
ln -s /proc/self/fd/2 "$merged/dev/stderr"
exec strace -f -y --seccomp-bpf -e ${STRACE_FILTER} -o "$trace" \\
  timeout --preserve-status -k "$killafter" -s TERM "$secs" \\
  setpriv --no-new-privs --bounding-set "$caps" -- unshare -R "$merged" -w "$cwd" -- "$@"
`;

/** setpriv's spelling of the hook sandbox's capabilities: the bounding set the workload gets. */
const BOUNDING_SET = ['-all', ...SANDBOX_CAPS.map((c) => '+' + c.slice('CAP_'.length).toLowerCase())].join(
  ',',
);

/** The commands, as a user could paste them (for `isobuild plan`); ROOT and TMP are placeholders. */
export function describeTrace(root: string, w: Workload): string {
  // Quoted twice: once for the inner shell, once more for the outer single-quoted script.
  const q = (a: string) => escapeInSingleQuotes(quoteWord(a));
  const m = 'TMP/merged';
  return (
    `unshare --mount --net --pid --fork --kill-child --ipc --uts --propagation private -- sh -c '` +
    `mount -t overlay overlay -o lowerdir=${root},upperdir=TMP/upper,workdir=TMP/work ${m} && ` +
    `mount --bind ${m} ${m} && mount -o remount,bind,nodev,nosuid ${m} && ` +
    `mount -t proc proc ${m}/proc && mount --bind ${m}/proc/sys ${m}/proc/sys && mount -o remount,bind,ro ${m}/proc/sys && ` +
    `mount -t sysfs -o ro sysfs ${m}/sys && mount -t tmpfs -o nodev tmpfs ${m}/dev && ` +
    `for n in null zero full random urandom tty; do touch ${m}/dev/$n && mount --bind /dev/$n ${m}/dev/$n; done && ` +
    `strace -f -y --seccomp-bpf -e ${STRACE_FILTER} -o TMP/strace.txt ` +
    `timeout --preserve-status -k ${KILL_AFTER} -s TERM ${w.timeout ?? DEFAULT_TIMEOUT} ` +
    `setpriv --no-new-privs --bounding-set ${BOUNDING_SET} -- ` +
    `unshare -R ${m} -w ${w.cwd ?? '/'} -- ${w.argv.map(q).join(' ')}'`
  );
}

/** Overlay options are comma and colon separated: such paths cannot be passed safely. */
function checkMountablePath(p: string, stage: string): void {
  if (/[,:\\]/.test(p)) throw new BuildError(`cannot trace in ${p}: the path holds ',', ':' or '\\'`, stage);
}

export async function traceWorkload(opts: {
  root: string;
  workload: Workload;
  env: Record<string, string>;
  tmpDir: string;
  run: RunFn;
  stage: string;
  /** Run in a copy of the root even where overlayfs works (the fallback, for tests). */
  copy?: boolean;
}): Promise<WorkloadResult> {
  const { root, workload: w, stage } = opts;
  checkMountablePath(root, stage);
  await mkdir(opts.tmpDir, { recursive: true });
  const dir = await mkdtemp(join(opts.tmpDir, 'trace-'));
  checkMountablePath(dir, stage);
  const [upper, work, merged] = ['upper', 'work', 'merged'].map((n) => join(dir, n)) as [
    string,
    string,
    string,
  ];
  const traceFile = join(dir, 'strace.txt');
  try {
    await Promise.all([upper, work, merged].map((d) => mkdir(d)));
    const secs = String(w.timeout ?? DEFAULT_TIMEOUT);
    const res = await opts.run(
      'unshare',
      [
        '--mount',
        '--net',
        // Its own pids: root may signal every root process it can see, the build's and the host's.
        '--pid',
        '--fork',
        '--kill-child',
        '--ipc',
        '--uts',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        WRAPPER,
        'isobuild-trace',
        root,
        upper,
        work,
        merged,
        traceFile,
        secs,
        w.cwd ?? '/',
        String(KILL_AFTER),
        opts.copy ? 'copy' : 'overlay',
        BOUNDING_SET,
        ...w.argv,
      ],
      {
        env: opts.env,
        cleanEnv: true,
        input: w.stdin ?? '',
        allowFailure: true,
        stage,
        timeoutMs: (Number(secs) + KILL_AFTER + 120) * 1000,
      },
    );
    const trace = await readFile(traceFile, 'utf8').catch(() => '');
    if (!/^\d+\s+chroot\(.*\) = 0/m.test(trace)) {
      // The wrapper (mounts, strace, unshare -R) failed before the workload started.
      throw new BuildError(
        `could not start workload ${JSON.stringify(w.argv)} in ${root} (exit status ${res.exitCode})\n` +
          `  $ ${res.command}\n  output (last lines):\n${tail(res.all || res.stderr)}`,
        stage,
      );
    }
    return { exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr, trace, chrootPath: merged };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
