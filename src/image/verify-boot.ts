import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { UsageError } from '../errors.js';
import { run } from '../exec/run.js';
import { detectImageFormat } from './disk-detect.js';
import { findEsp } from './disk-esp.js';
import type { DiskFormatName } from './disk-formats.js';

/** One EFI binary of an output, who signed it, and whether it passes the given db certificate. */
export interface EfiBinaryReport {
  /** Where it lies: `esp:/EFI/BOOT/BOOTX64.EFI`, `iso:/boot/vmlinuz`, or the file given. */
  path: string;
  /** Signer certificate subjects (sbverify --list); empty: unsigned. */
  signers: string[];
  /** With a db cert: whether sbverify --cert accepts it. */
  passes?: boolean;
}

async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** A disk image as raw bytes: itself, or qemu-img's raw copy of a qcow2/vmdk/vhdx/vpc under `work`. */
async function rawDiskOf(image: string, format: DiskFormatName, work: string): Promise<string> {
  if (format === 'raw') return image;
  const raw = join(work, 'disk.raw');
  await run('qemu-img', ['convert', '-f', format, '-O', 'raw', image, raw]);
  return raw;
}

/** `sbverify --list`'s certificate subjects: the lines after "image signature certificates:". */
export function signerSubjects(list: string): string[] {
  const out: string[] = [];
  let inCerts = false;
  for (const line of list.split('\n')) {
    if (/^image signature certificates:/.test(line)) inCerts = true;
    else if (/^\S/.test(line)) inCerts = false;
    else if (inCerts) {
      const subject = /^\s*- subject:\s*(.*)$/.exec(line)?.[1];
      if (subject) out.push(subject);
    }
  }
  return out;
}

async function report(file: string, shown: string, cert?: string): Promise<EfiBinaryReport> {
  const list = await run('sbverify', ['--list', file], { allowFailure: true });
  const signers = signerSubjects(list.stdout);
  if (!cert) return { path: shown, signers };
  const check = await run('sbverify', ['--cert', cert, file], { allowFailure: true });
  return { path: shown, signers, passes: check.exitCode === 0 };
}

/**
 * Every EFI binary of an output: for an ISO, the files of its El Torito EFI image (extracted
 * with xorriso, read with mtools) and its kernel; for a FAT image, its files under EFI/; any
 * other file is taken as one EFI binary (a UKI). A disk image (raw, or a qemu-img format
 * converted to raw first): the files under EFI/ of its EFI system partition, read at the
 * partition's offset (`mcopy -i disk@@offset`).
 */
export async function verifyBoot(output: string, cert?: string): Promise<EfiBinaryReport[]> {
  if (!(await stat(output).catch(() => undefined))?.isFile())
    throw new UsageError(
      `verify-boot ${output}: no such file (an ISO, a disk image, an ESP image or an EFI binary)`,
    );
  const work = await mkdtemp(join(tmpdir(), 'isobuild-verify-boot-'));
  try {
    const format = await detectImageFormat(output);
    const type = (await run('file', ['-b', output])).stdout;
    const out: EfiBinaryReport[] = [];
    let esp: string | undefined;
    const disk = format && format !== 'iso' ? await rawDiskOf(output, format, work) : undefined;
    const offset = disk ? await findEsp(run, disk) : undefined;
    if (disk && offset !== undefined) esp = `${disk}@@${offset}`;
    else if (format === 'iso') {
      await run('xorriso', ['-osirrox', 'on', '-indev', output, '-extract_boot_images', join(work, 'boot')]);
      const images = await readdir(join(work, 'boot')).catch(() => [] as string[]);
      const uefi = images.find((n) => /uefi/i.test(n));
      if (uefi) esp = join(work, 'boot', uefi);
      for (const kernel of ['/boot/vmlinuz']) {
        const to = join(work, 'vmlinuz');
        const res = await run('xorriso', ['-osirrox', 'on', '-indev', output, '-extract', kernel, to], {
          allowFailure: true,
        });
        if (res.exitCode === 0) out.unshift(await report(to, `iso:${kernel}`, cert));
      }
    } else if (/FAT|DOS\/MBR boot sector/.test(type)) esp = output;
    else return [await report(output, output, cert)];
    if (esp) {
      const tree = join(work, 'esp');
      await run('mcopy', ['-s', '-n', '-i', esp, '::/EFI', tree], { env: { MTOOLS_SKIP_CHECK: '1' } });
      for (const f of await filesUnder(tree))
        out.push(await report(f, `esp:/EFI/${relative(tree, f)}`, cert));
    }
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
