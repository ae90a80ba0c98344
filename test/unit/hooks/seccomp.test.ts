import { readFile } from 'node:fs/promises';
import {
  AUDIT_ARCH_X86_64,
  CLONE_NEWUSER,
  DENIED_SYSCALLS,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  seccompFilter,
} from '../../../src/hooks/seccomp.js';
import { X86_64_SYSCALLS } from '../../../src/hooks/syscalls-x86-64.js';

// The filter's bytes are run through a small classic-BPF interpreter (the instructions the
// kernel would run, decoded from the struct sock_filter array); test/faults/hook-escape.test.ts
// loads the same bytes into the real kernel through bwrap.

const EPERM = SECCOMP_RET_ERRNO | 1;
const ENOSYS = SECCOMP_RET_ERRNO | 38;
const AUDIT_ARCH_I386 = 0x40000003;
const SIGCHLD = 17;
const CLONE_NEWNS = 0x00020000;

/** Runs the program on one struct seccomp_data; throws on anything the kernel would reject. */
function evaluate(program: Buffer, nr: number, args: bigint[] = [], arch = AUDIT_ARCH_X86_64): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((arg, i) => data.writeBigUInt64LE(arg, 16 + 8 * i));
  const count = program.length / 8;
  let acc = 0;
  for (let pc = 0; pc < count; ) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    const jump = (taken: boolean) => (pc += 1 + (taken ? jt : jf));
    switch (code) {
      case 0x20: // BPF_LD | BPF_W | BPF_ABS
        if (k % 4 !== 0 || k + 4 > 64) throw new Error(`load at ${k}`);
        acc = data.readUInt32LE(k);
        pc += 1;
        break;
      case 0x15: // BPF_JMP | BPF_JEQ | BPF_K
        jump(acc === k);
        break;
      case 0x35: // BPF_JMP | BPF_JGE | BPF_K
        jump(acc >= k);
        break;
      case 0x45: // BPF_JMP | BPF_JSET | BPF_K
        jump((acc & k) >>> 0 !== 0);
        break;
      case 0x06: // BPF_RET | BPF_K
        return k;
      default:
        throw new Error(`opcode ${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('ran off the end of the program');
}

const program = seccompFilter('x64')!;
const nr = X86_64_SYSCALLS;

test("the system call numbers are the host kernel headers' (asm/unistd_64.h)", async () => {
  const header = await readFile('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8');
  const fromHeader = Object.fromEntries(
    [...header.matchAll(/^#define __NR_(\w+) (\d+)$/gm)].map(([, name, n]) => [name, Number(n)]),
  );
  for (const [name, n] of Object.entries(X86_64_SYSCALLS))
    expect([name, fromHeader[name]]).toEqual([name, n]);
});

test('every denied system call gets EPERM, whatever its arguments', () => {
  for (const name of DENIED_SYSCALLS)
    expect([name, evaluate(program, nr[name], [0xffffffffn])]).toEqual([name, EPERM]);
});

test('ordinary system calls are allowed: read, openat, chown, mknod, chroot, fork', () => {
  // read 0, openat 257, chown 92, mknod 133, chroot 161, fork 57, vfork 58, execve 59.
  for (const n of [0, 257, 92, 133, 161, 57, 58, 59])
    expect([n, evaluate(program, n)]).toEqual([n, SECCOMP_RET_ALLOW]);
});

test('clone and unshare: CLONE_NEWUSER gets EPERM, other flags pass (the capabilities decide)', () => {
  const user = BigInt(CLONE_NEWUSER);
  expect(evaluate(program, nr.clone, [BigInt(SIGCHLD)])).toBe(SECCOMP_RET_ALLOW);
  expect(evaluate(program, nr.clone, [user | BigInt(SIGCHLD)])).toBe(EPERM);
  expect(evaluate(program, nr.unshare, [user | BigInt(CLONE_NEWNS)])).toBe(EPERM);
  expect(evaluate(program, nr.unshare, [BigInt(CLONE_NEWNS)])).toBe(SECCOMP_RET_ALLOW);
  // Only the low 32 bits hold flags: bits above them do not hide CLONE_NEWUSER.
  expect(evaluate(program, nr.unshare, [(1n << 40n) | user])).toBe(EPERM);
});

test('clone3 gets ENOSYS, so libc falls back to clone', () => {
  expect(evaluate(program, nr.clone3, [0n, 88n])).toBe(ENOSYS);
});

test('x32 system calls get EPERM and other architectures (i386 int 0x80) are killed', () => {
  expect(evaluate(program, 0x40000000 | nr.mount)).toBe(EPERM);
  expect(evaluate(program, 0x40000000)).toBe(EPERM);
  expect(evaluate(program, 0, [], AUDIT_ARCH_I386)).toBe(SECCOMP_RET_KILL_PROCESS);
});

test('there is no filter for an architecture without a system call table', () => {
  expect(seccompFilter('arm64')).toBeUndefined();
});
