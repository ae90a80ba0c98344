import { open } from 'node:fs/promises';
import type { DiskFormatName } from './disk-formats.js';

/** ISO 9660's volume descriptor id, in sector 16 (2048-byte sectors), after its type byte. */
const ISO_MAGIC_OFFSET = 16 * 2048 + 1;

/**
 * What an image file is, from its magic numbers: an ISO (checked first: a hybrid ISO also
 * carries a GPT), one of qemu-img's disk formats, or undefined. A fixed VHD has its `conectix`
 * footer in the last 512 bytes; a raw disk has a GPT header or an MBR signature.
 */
export async function detectImageFormat(path: string): Promise<'iso' | DiskFormatName | undefined> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(ISO_MAGIC_OFFSET + 5);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const at = (offset: number, magic: string) =>
      bytesRead >= offset + magic.length && head.toString('latin1', offset, offset + magic.length) === magic;
    if (at(ISO_MAGIC_OFFSET, 'CD001')) return 'iso';
    if (at(0, 'QFI\xfb')) return 'qcow2';
    if (at(0, 'KDMV') || at(0, '# Disk DescriptorFile')) return 'vmdk';
    if (at(0, 'vhdxfile')) return 'vhdx';
    if (at(0, 'conectix')) return 'vpc';
    const size = (await fh.stat()).size;
    if (size >= 1024) {
      const foot = Buffer.alloc(512);
      await fh.read(foot, 0, 512, size - 512);
      if (foot.toString('latin1', 0, 8) === 'conectix') return 'vpc';
    }
    if (at(512, 'EFI PART') || (head[510] === 0x55 && head[511] === 0xaa)) return 'raw';
    return undefined;
  } finally {
    await fh.close();
  }
}
