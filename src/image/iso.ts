import { open } from 'node:fs/promises';
import { InternalError } from '../errors.js';
import type { VolumeIdentity } from './volume.js';

/**
 * What goes on the ISO and how it boots. `files` maps paths inside the ISO to host files
 * (xorriso graft points), so a 100 MB initrd is read in place rather than copied.
 */
export interface IsoLayout {
  output: string;
  identity: VolumeIdentity;
  sourceDateEpoch: number;
  /** ISO path (no leading '/') → host path. */
  files: Readonly<Record<string, string>>;
  /** BIOS: isolinux.bin's folder in the ISO and the isohybrid MBR template. */
  bios?: { isolinuxDir: string; mbr: string };
  /** UEFI: the FAT image holding /EFI/BOOT/BOOTX64.EFI. */
  efiImage?: string;
}

/** xorriso's timestamp form: YYYYMMDDhhmmsscc, UTC. */
export function xorrisoDate(epoch: number): string {
  const d = new Date(epoch * 1000).toISOString(); // 2023-11-14T22:13:20.000Z
  return d.slice(0, 19).replace(/[-T:]/g, '') + '00';
}

/**
 * xorriso takes a date of 0 (1970-01-01 00:00:00) as "not given" and stamps the directories it
 * creates with the current time; one second later is a date it honours.
 */
export function xorrisoEpoch(sourceDateEpoch: number): number {
  return Math.max(1, sourceDateEpoch);
}

/** Graft points split on '=': escape it (and the escape) in both halves. */
function graftEscape(p: string): string {
  return p.replace(/\\/g, '\\\\').replace(/=/g, '\\=');
}

/**
 * The `xorriso -as mkisofs` arguments for one hybrid image. BIOS boots isolinux from El Torito;
 * UEFI boots the FAT image appended as partition 2 and also named as the El Torito EFI image,
 * which is what lets the same file boot from a CD and from a USB stick (MBR for BIOS, GPT/ESP
 * for UEFI). Dates: --modification-date fixes the volume dates and --set_all_file_dates every
 * file's, whatever the host files carry; xorriso derives the GPT GUIDs from them too.
 */
export function xorrisoArgs(layout: IsoLayout): string[] {
  const date = xorrisoDate(xorrisoEpoch(layout.sourceDateEpoch));
  const { identity, bios, efiImage } = layout;
  const args = [
    '-report_about',
    'WARNING',
    '-as',
    'mkisofs',
    '-o',
    layout.output,
    '-V',
    identity.volid,
    '-publisher',
    identity.publisher,
    '-A',
    identity.application,
    '-iso-level',
    '3',
    // Rock Ridge with owners 0:0 and sane modes, whatever the host files say.
    '-r',
    `--modification-date=${date}`,
    '--set_all_file_dates',
    date,
  ];
  if (bios) {
    args.push(
      '-isohybrid-mbr',
      bios.mbr,
      '-b',
      `${bios.isolinuxDir}/isolinux.bin`,
      '-c',
      `${bios.isolinuxDir}/boot.cat`,
      '-no-emul-boot',
      '-boot-load-size',
      '4',
      '-boot-info-table',
    );
  }
  if (efiImage) {
    if (bios) args.push('-eltorito-alt-boot');
    args.push('-e', '--interval:appended_partition_2:all::', '-no-emul-boot');
    if (bios) args.push('-isohybrid-gpt-basdat');
    args.push('-append_partition', '2', '0xef', efiImage);
  }
  args.push('-graft-points');
  for (const [inIso, host] of Object.entries(layout.files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    args.push(`/${graftEscape(inIso)}=${graftEscape(host)}`);
  return args;
}

/** ECMA-119: the Primary Volume Descriptor is sector 16; its publisher id is bytes 318-445. */
const PVD_OFFSET = 16 * 2048;
const PVD_PUBLISHER = { offset: 318, length: 128 };

/**
 * Writes `publisher` into the PVD as given. libisofs upper-cases the field (ECMA-119 allows only
 * a-characters there), but vic-machine reads VIC's `VMware Inc. <version>` verbatim; readers
 * take the field as bytes. Checks the descriptor is a PVD first, so nothing else is overwritten.
 */
export async function writePvdPublisher(iso: string, publisher: string): Promise<void> {
  const field = Buffer.alloc(PVD_PUBLISHER.length, ' ');
  if (Buffer.byteLength(publisher, 'latin1') > field.length || /[^\x20-\x7e]/.test(publisher))
    throw new InternalError(`publisher "${publisher}" is not up to 128 printable ASCII characters`);
  field.write(publisher, 'latin1');
  const fh = await open(iso, 'r+');
  try {
    const head = Buffer.alloc(6);
    await fh.read(head, 0, 6, PVD_OFFSET);
    if (head[0] !== 1 || head.toString('latin1', 1, 6) !== 'CD001')
      throw new InternalError(`${iso}: sector 16 is not an ISO 9660 primary volume descriptor`);
    await fh.write(field, 0, field.length, PVD_OFFSET + PVD_PUBLISHER.offset);
  } finally {
    await fh.close();
  }
}
