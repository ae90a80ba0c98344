import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { InternalError } from '../errors.js';

/**
 * The formats one disk is written in (`build --format`), each made by qemu-img from the raw disk
 * the disk-image stage leaves. `vpc` is Microsoft's VHD (qemu's name for it).
 */
export const DISK_FORMATS = ['raw', 'qcow2', 'vmdk', 'vhdx', 'vpc'] as const;
export type DiskFormatName = (typeof DISK_FORMATS)[number];

/** The file name ending each format takes in bin/. */
export const DISK_EXTENSIONS: Record<DiskFormatName, string> = {
  raw: 'raw',
  qcow2: 'qcow2',
  vmdk: 'vmdk',
  vhdx: 'vhdx',
  vpc: 'vhd',
};

/**
 * `qemu-img convert` arguments for each format but raw (copied as it is). `-m 1`: one coroutine
 * writes the clusters in order, so a compressed qcow2 is the same bytes each time.
 * - qcow2: compressed (zlib), what KVM/Proxmox/OpenStack import;
 * - vmdk: streamOptimized, what vSphere imports (and what an OVA carries);
 * - vhdx: Hyper-V's format, dynamic;
 * - vpc: a fixed-size VHD whose size is the raw disk's exactly (force_size: no CHS rounding),
 *   a whole number of MiB as Azure requires.
 */
export function convertArgs(format: Exclude<DiskFormatName, 'raw'>, src: string, dest: string): string[] {
  const options: Record<typeof format, string[]> = {
    qcow2: ['-c', '-o', 'compression_type=zlib'],
    vmdk: ['-o', 'subformat=streamOptimized'],
    vhdx: ['-o', 'subformat=dynamic'],
    vpc: ['-o', 'subformat=fixed,force_size=on'],
  };
  return ['convert', '-m', '1', '-f', 'raw', '-O', format, ...options[format], src, dest];
}

/**
 * qemu-img gives each VMDK a random content id (CID in the text descriptor, printed without
 * leading zeros: 7 digits one time in 16); writing one derived from the disk's bytes instead makes
 * the VMDK as reproducible as the raw disk. The descriptor is NUL-padded text in the sectors the
 * header names, with no checksum over it: it is rewritten in place, whatever length the old CID had.
 */
export async function fixVmdkCid(path: string, seed: string): Promise<string> {
  const cid = createHash('sha256').update(seed).digest('hex').slice(0, 8);
  const fh = await open(path, 'r+');
  try {
    const header = Buffer.alloc(44);
    await fh.read(header, 0, header.length, 0);
    if (header.toString('latin1', 0, 4) !== 'KDMV')
      throw new InternalError(`${path}: not a sparse VMDK (no KDMV header)`);
    // SparseExtentHeader: descriptorOffset and descriptorSize, in sectors.
    const offset = Number(header.readBigUInt64LE(28)) * 512;
    const size = Number(header.readBigUInt64LE(36)) * 512;
    const area = Buffer.alloc(size);
    await fh.read(area, 0, size, offset);
    const end = area.indexOf(0);
    const text = area.toString('latin1', 0, end < 0 ? size : end);
    if (!/\nCID=[0-9a-f]{1,8}\n/.test(text))
      throw new InternalError(`${path}: no CID line in the VMDK descriptor`);
    const fixed = Buffer.from(text.replace(/\nCID=[0-9a-f]{1,8}\n/, `\nCID=${cid}\n`), 'latin1');
    if (fixed.length >= size)
      throw new InternalError(`${path}: the VMDK descriptor has no room for an 8-digit CID`);
    const out = Buffer.alloc(size);
    fixed.copy(out);
    await fh.write(out, 0, size, offset);
  } finally {
    await fh.close();
  }
  return cid;
}

/** Which formats give the same bytes for the same disk (docs/disk.md says why the others do not). */
export const REPRODUCIBLE_FORMATS: readonly DiskFormatName[] = ['raw', 'qcow2', 'vmdk'];
