import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import type { RunOptions, RunResult } from '../exec/run.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** systemd-stub for x86-64 UEFI (Debian's systemd-boot-efi). */
export const SYSTEMD_STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';

/** The parts of a UKI, in the order systemd-stub's documentation lays them out. */
export interface UkiParts {
  osRelease: string;
  cmdline: string;
  kernel: string;
  /** Absent when the kernel mounts its root alone (every driver built in). */
  initrd?: string;
}

const PAGE = 0x1000;
const align = (n: number) => Math.ceil(n / PAGE) * PAGE;

/** The end of the stub's last section (objdump -h: VMA + size), where the added sections may start. */
export function stubEnd(objdumpHeaders: string): number {
  let end = 0;
  for (const m of objdumpHeaders.matchAll(/^\s*\d+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s/gm))
    end = Math.max(end, parseInt(m[2]!, 16) + parseInt(m[1]!, 16));
  if (!end) throw new BuildError(`${SYSTEMD_STUB}: objdump -h listed no sections`, 'uki');
  return end;
}

/**
 * The objcopy arguments that add .osrel, .cmdline, .linux and .initrd to the stub, each at the
 * next page after the one before (what ukify computes; systemd's documented fixed offsets
 * 0x20000/0x30000/0x2000000/0x3000000 would cap the kernel at 16 MiB).
 */
export function ukiObjcopyArgs(
  parts: UkiParts,
  sizes: Partial<Record<keyof UkiParts, number>>,
  start: number,
  out: string,
): string[] {
  const args: string[] = [];
  let vma = align(start);
  for (const [section, key] of [
    ['.osrel', 'osRelease'],
    ['.cmdline', 'cmdline'],
    ['.linux', 'kernel'],
    ['.initrd', 'initrd'],
  ] as const) {
    const file = parts[key];
    if (file === undefined) continue;
    args.push(
      '--add-section',
      `${section}=${file}`,
      '--change-section-vma',
      `${section}=0x${vma.toString(16)}`,
    );
    vma = align(vma + (sizes[key] ?? 0));
  }
  return [...args, SYSTEMD_STUB, out];
}

/** Joins the parts into one PE file by the systemd-stub rules. objcopy writes no dates: same inputs, same bytes. */
export async function makeUki(run: Runner, parts: UkiParts, out: string): Promise<string> {
  const headers = (await run('objdump', ['-h', SYSTEMD_STUB])).stdout;
  const sizes: Partial<Record<keyof UkiParts, number>> = {};
  for (const key of Object.keys(parts) as (keyof UkiParts)[]) {
    const file = parts[key];
    if (file !== undefined) sizes[key] = (await stat(file)).size;
  }
  await run('objcopy', ukiObjcopyArgs(parts, sizes, stubEnd(headers), out));
  return out;
}

/**
 * objcopy stamps the PE header's TimeDateStamp with the time it runs (SOURCE_DATE_EPOCH is not
 * read for it): set it to the build's date, before signing (the signature covers it).
 */
export async function stampPeTime(file: string, sourceDateEpoch: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const pe = await peHeaderOffset(fh);
    if (pe === undefined) throw new BuildError(`${file} is not a PE file (no MZ and PE headers)`);
    const stamp = Buffer.alloc(4);
    stamp.writeUInt32LE(sourceDateEpoch >>> 0);
    await fh.write(stamp, 0, 4, pe + 8);
  } finally {
    await fh.close();
  }
}

/** Where the PE signature is (MZ's e_lfanew), or undefined when the file is no PE. */
async function peHeaderOffset(fh: FileHandle): Promise<number | undefined> {
  const dos = Buffer.alloc(0x40);
  if ((await fh.read(dos, 0, 0x40, 0)).bytesRead < 0x40 || dos.toString('latin1', 0, 2) !== 'MZ')
    return undefined;
  const offset = dos.readUInt32LE(0x3c);
  const sig = Buffer.alloc(4);
  await fh.read(sig, 0, 4, offset);
  return sig.toString('latin1') === 'PE\0\0' ? offset : undefined;
}

/**
 * Whether a kernel image is also an EFI program (CONFIG_EFI_STUB: the bzImage carries a PE
 * header). systemd-stub and the firmware start only those; a kernel without it would pass the
 * build and hang at boot.
 */
export async function isPeFile(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    return (await peHeaderOffset(fh)) !== undefined;
  } finally {
    await fh.close();
  }
}

/**
 * Signs a PE file for a db key. sbsign puts the signing time in the signature's authenticated
 * attributes (two signings of one file differ), so osslsigncode signs, with `-time` set to
 * SOURCE_DATE_EPOCH: the same inputs give the same signed bytes. The key is read by
 * osslsigncode from its path; its bytes never pass through isobuild.
 */
export async function signPe(
  run: Runner,
  input: string,
  out: string,
  keys: { key: string; cert: string },
  sourceDateEpoch: number,
): Promise<string> {
  await run('osslsigncode', [
    'sign',
    '-key',
    keys.key,
    '-certs',
    keys.cert,
    '-h',
    'sha256',
    '-time',
    String(sourceDateEpoch),
    '-in',
    input,
    '-out',
    out,
  ]);
  return out;
}

/** Checks `file` passes `cert` as a db would (sbverify --cert), so a bad signature fails the build, not the boot. */
export async function checkSignedBy(run: Runner, file: string, cert: string, stage: string): Promise<void> {
  const res = await run('sbverify', ['--cert', cert, file], { allowFailure: true });
  if (res.exitCode !== 0)
    throw new BuildError(
      `${file} does not verify against ${cert} (sbverify --cert): ${(res.stderr || res.stdout).trim().split('\n').slice(-3).join('; ')}`,
      stage,
    );
}

/**
 * The UKI a firmware starts: the parts joined on the stub, its PE time set to the build's date,
 * then, with a db key pair, signed and checked against the pair's certificate. Written under
 * `work`; returns the path. The uki stage and the disk-image stage (its ESP's UKI) share it.
 */
export async function makeFinalUki(
  run: Runner,
  parts: UkiParts,
  work: string,
  opts: {
    readonly signer?: { key: string; cert: string };
    readonly sourceDateEpoch: number;
    readonly stage: string;
  },
): Promise<string> {
  const unsigned = await makeUki(run, parts, join(work, 'unsigned.efi'));
  await stampPeTime(unsigned, opts.sourceDateEpoch);
  if (!opts.signer) return unsigned;
  const signed = await signPe(run, unsigned, join(work, 'signed.efi'), opts.signer, opts.sourceDateEpoch);
  await checkSignedBy(run, signed, opts.signer.cert, opts.stage);
  return signed;
}
