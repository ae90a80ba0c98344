import { X86_64_SYSCALLS, type X86_64Syscall } from './syscalls-x86-64.js';

/**
 * The hook sandbox's seccomp filter, in the spirit of Docker's default profile: everything is
 * allowed except the calls that reach the host's kernel state or could undo the sandbox. Debian
 * ships no libseccomp command-line tool, so the classic-BPF program `bwrap --seccomp FD` reads is
 * assembled here.
 */

/** Refused with EPERM: what no package script needs and an escape would. */
export const DENIED_SYSCALLS = [
  // File handles: open_by_handle_at opens any inode of a mounted file system by number, so
  // a handle of the host's root escapes every bind mount ("shocker").
  'name_to_handle_at',
  'open_by_handle_at',
  // Mounts (the old and the new API) and root switching.
  'mount',
  'umount2',
  'pivot_root',
  'open_tree',
  'move_mount',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'mount_setattr',
  // Namespaces: entering another one.
  'setns',
  // The kernel itself: modules, kexec, reboot, swap, BPF programs, keyrings, perf, quotas.
  'init_module',
  'finit_module',
  'delete_module',
  'create_module',
  'get_kernel_syms',
  'query_module',
  'kexec_load',
  'kexec_file_load',
  'reboot',
  'swapon',
  'swapoff',
  'bpf',
  'add_key',
  'request_key',
  'keyctl',
  'perf_event_open',
  'quotactl',
  'quotactl_fd',
  'lookup_dcookie',
  'nfsservctl',
  '_sysctl',
  'uselib',
  'acct',
  'syslog',
  'vhangup',
  'fanotify_init',
  // Other processes' memory, and page faults handled by user code (a kernel exploit's tool).
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'kcmp',
  'pidfd_getfd',
  'userfaultfd',
  // io_uring reaches the same operations without passing through this filter.
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  // The host's clock and I/O ports.
  'settimeofday',
  'clock_settime',
  'clock_adjtime',
  'iopl',
  'ioperm',
] as const satisfies readonly X86_64Syscall[];

/** Refused with EPERM when their flags (first argument) ask for a new user namespace. */
export const NO_NEW_USERNS_SYSCALLS = ['clone', 'unshare'] as const satisfies readonly X86_64Syscall[];

/**
 * Refused with ENOSYS: clone3's flags are behind a pointer the filter cannot read, so, as Docker
 * does, it reports "not implemented" and libc falls back to clone, whose flags it can.
 */
export const ENOSYS_SYSCALLS = ['clone3'] as const satisfies readonly X86_64Syscall[];

// linux/filter.h, linux/seccomp.h, linux/audit.h, linux/sched.h.
const BPF_LD_W_ABS = 0x00 | 0x00 | 0x20;
const BPF_JMP_JEQ_K = 0x05 | 0x10 | 0x00;
const BPF_JMP_JGE_K = 0x05 | 0x30 | 0x00;
const BPF_JMP_JSET_K = 0x05 | 0x40 | 0x00;
const BPF_RET_K = 0x06 | 0x00;
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** x32 system calls are the x86_64 numbers with this bit set: each would bypass a number check. */
const X32_SYSCALL_BIT = 0x40000000;
export const CLONE_NEWUSER = 0x10000000;
const EPERM = 1;
const ENOSYS = 38;
/** Offsets in struct seccomp_data: nr, arch, then args[0] (its low 32 bits first: little-endian). */
const DATA_NR = 0;
const DATA_ARCH = 4;
const DATA_ARG0_LOW = 16;

/** One instruction; jumps name a label, resolved to a forward offset when assembled. */
interface Insn {
  code: number;
  k: number;
  jt?: string;
  jf?: string;
  label?: string;
}

const SOCK_FILTER_BYTES = 8;
/** The kernel's limit on a classic-BPF program (BPF_MAXINSNS). */
const MAX_INSNS = 4096;

/** struct sock_filter[] as the kernel reads it: u16 code, u8 jt, u8 jf, u32 k, little-endian. */
function assemble(program: readonly Insn[]): Buffer {
  if (program.length > MAX_INSNS) throw new RangeError(`seccomp program of ${program.length} instructions`);
  const at = new Map<string, number>();
  program.forEach((insn, i) => insn.label && at.set(insn.label, i));
  const offset = (from: number, label: string | undefined): number => {
    if (label === undefined) return 0;
    const to = at.get(label);
    // cBPF jumps only forward, by at most 255 instructions.
    if (to === undefined || to <= from || to - from - 1 > 255)
      throw new RangeError(`seccomp jump from ${from} to ${label} (${to}) cannot be encoded`);
    return to - from - 1;
  };
  const out = Buffer.alloc(program.length * SOCK_FILTER_BYTES);
  program.forEach((insn, i) => {
    const base = i * SOCK_FILTER_BYTES;
    out.writeUInt16LE(insn.code, base);
    out.writeUInt8(offset(i, insn.jt), base + 2);
    out.writeUInt8(offset(i, insn.jf), base + 3);
    out.writeUInt32LE(insn.k >>> 0, base + 4);
  });
  return out;
}

/** The filter for x86_64: other architectures' calls (i386's int 0x80) kill the process. */
function x86_64Program(): Insn[] {
  const nr = (name: X86_64Syscall) => X86_64_SYSCALLS[name];
  return [
    { code: BPF_LD_W_ABS, k: DATA_ARCH },
    { code: BPF_JMP_JEQ_K, k: AUDIT_ARCH_X86_64, jf: 'kill' },
    { code: BPF_LD_W_ABS, k: DATA_NR },
    { code: BPF_JMP_JGE_K, k: X32_SYSCALL_BIT, jt: 'eperm' },
    ...DENIED_SYSCALLS.map((name) => ({ code: BPF_JMP_JEQ_K, k: nr(name), jt: 'eperm' })),
    ...ENOSYS_SYSCALLS.map((name) => ({ code: BPF_JMP_JEQ_K, k: nr(name), jt: 'enosys' })),
    ...NO_NEW_USERNS_SYSCALLS.map((name) => ({ code: BPF_JMP_JEQ_K, k: nr(name), jt: 'flags' })),
    { code: BPF_RET_K, k: SECCOMP_RET_ALLOW },
    { code: BPF_LD_W_ABS, k: DATA_ARG0_LOW, label: 'flags' },
    { code: BPF_JMP_JSET_K, k: CLONE_NEWUSER, jt: 'eperm' },
    { code: BPF_RET_K, k: SECCOMP_RET_ALLOW },
    { code: BPF_RET_K, k: SECCOMP_RET_ERRNO | EPERM, label: 'eperm' },
    { code: BPF_RET_K, k: SECCOMP_RET_ERRNO | ENOSYS, label: 'enosys' },
    { code: BPF_RET_K, k: SECCOMP_RET_KILL_PROCESS, label: 'kill' },
  ];
}

/**
 * The compiled filter for the host's architecture (Node's `process.arch`), or undefined where
 * no system call table is written yet (the sandbox then runs without one; docs/hooks.md says so).
 */
export function seccompFilter(arch: string = process.arch): Buffer | undefined {
  return arch === 'x64' ? assemble(x86_64Program()) : undefined;
}
