import { createHash } from 'node:crypto';
import { BuildError } from '../errors.js';
import { formatBytes } from '../fs/disk-space.js';
import { stableUuid } from './rootfs-image.js';

export const SECTOR = 512;
export const MIB = 1024 * 1024;

/** GPT partition type GUIDs: the EFI System Partition, and the x86-64 root of the Discoverable Partitions Specification. */
export const PARTITION_TYPES = {
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  root: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  /** A squashfs root's writable layer: plain Linux file system data (no Discoverable Partitions type fits an overlay). */
  overlay: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
} as const;

/** What the root partition holds: ext4, or a read-only squashfs under a writable ext4 overlay partition. */
export const DISK_ROOTS = ['ext4', 'squashfs'] as const;
export type DiskRoot = (typeof DISK_ROOTS)[number];

/** One partition: where it starts and how long it is, in bytes (both whole MiB). */
export interface Partition {
  readonly name: keyof typeof PARTITION_TYPES;
  readonly offset: number;
  readonly bytes: number;
  /** The partition's GPT unique GUID. */
  readonly uuid: string;
}

/** The identities a disk is made with: the same build gives the same ones, so the same bytes. */
export interface DiskIds {
  readonly disk: string;
  readonly esp: string;
  readonly root: string;
  /** The root ext4 file system's UUID (and hash seed): the kernel line finds the root by it. */
  readonly rootFs: string;
  /** The ESP's FAT volume id, 8 hex digits (GRUB finds the ESP by it). */
  readonly espVolumeId: string;
  /** A squashfs root's overlay partition, and its ext4 file system (the initrd finds it by it). */
  readonly overlay: string;
  readonly overlayFs: string;
}

export function diskIds(seed: string): DiskIds {
  return {
    disk: stableUuid(`${seed}/disk`),
    esp: stableUuid(`${seed}/esp`),
    root: stableUuid(`${seed}/root`),
    rootFs: stableUuid(`${seed}/root.ext4`),
    espVolumeId: createHash('sha256').update(`${seed}/esp.fat`).digest('hex').slice(0, 8),
    overlay: stableUuid(`${seed}/overlay`),
    overlayFs: stableUuid(`${seed}/overlay.ext4`),
  };
}

export interface DiskLayout {
  readonly bytes: number;
  readonly esp: Partition;
  readonly root: Partition;
  /** With a squashfs root: the writable ext4 partition after it, filling the disk. */
  readonly overlay?: Partition;
}

/** The ESP: its files plus room for FAT's tables and a kernel update, whole MiB, at least 32 MiB. */
export function espBytes(fileBytes: number): number {
  return Math.max(32, Math.ceil((fileBytes * 1.5) / MIB) + 8) * MIB;
}

/** An ext4 file system for `treeBytes` of files, without headroom: inode tables, journal, bitmaps. */
export function minimumRootBytes(treeBytes: number): number {
  return Math.ceil((treeBytes * 1.1) / MIB + 24) * MIB;
}

/** The default root partition: the files, a quarter more, and 32 MiB (the containerfs rule). */
export function defaultRootBytes(treeBytes: number): number {
  return Math.max(64, Math.ceil((treeBytes * 1.25) / MIB) + 32) * MIB;
}

/** A squashfs root's overlay partition: the smallest ext4 with a journal and room to write, and the default (a quarter of the files, 32 MiB more). */
export const MIN_OVERLAY_BYTES = 32 * MIB;
export function defaultOverlayBytes(treeBytes: number): number {
  return Math.max(64, Math.ceil((treeBytes * 0.25) / MIB) + 32) * MIB;
}

const wholeMib = (bytes: number) => Math.ceil(bytes / MIB) * MIB;

/** 1 MiB before the first partition (protective MBR, GPT header and entries) and 1 MiB after the last (the backup GPT). */
const HEAD = MIB;
const TAIL = MIB;

/** The smallest disk that holds this ESP and root, rounded up to whole MiB. */
export function minimumDiskBytes(esp: number, treeBytes: number): number {
  return HEAD + esp + minimumRootBytes(treeBytes) + TAIL;
}

/**
 * Where the partitions go. `size` (disk.size, --size) is the whole disk, rounded up to MiB;
 * a disk too small for its root is refused here, before anything is written, naming the size
 * it needs. With `squashfsBytes` (a squashfs root, already made) the root partition holds that
 * image exactly and an ext4 overlay partition takes the rest.
 */
export function planDisk(o: {
  espFileBytes: number;
  rootTreeBytes: number;
  squashfsBytes?: number;
  size?: number;
  ids: DiskIds;
}): DiskLayout {
  const esp = espBytes(o.espFileBytes);
  const squashfs = o.squashfsBytes !== undefined ? wholeMib(o.squashfsBytes) : undefined;
  const needed =
    squashfs !== undefined
      ? HEAD + esp + squashfs + MIN_OVERLAY_BYTES + TAIL
      : minimumDiskBytes(esp, o.rootTreeBytes);
  const defaultBytes =
    squashfs !== undefined
      ? HEAD + esp + squashfs + defaultOverlayBytes(o.rootTreeBytes) + TAIL
      : HEAD + esp + defaultRootBytes(o.rootTreeBytes) + TAIL;
  const bytes = o.size !== undefined ? wholeMib(o.size) : defaultBytes;
  if (bytes < needed) throw new DiskTooSmallError(bytes, needed, { root: o.rootTreeBytes, esp, squashfs });
  const espPart: Partition = { name: 'esp', offset: HEAD, bytes: esp, uuid: o.ids.esp };
  const rest = bytes - HEAD - esp - TAIL;
  if (squashfs === undefined)
    return { bytes, esp: espPart, root: { name: 'root', offset: HEAD + esp, bytes: rest, uuid: o.ids.root } };
  return {
    bytes,
    esp: espPart,
    root: { name: 'root', offset: HEAD + esp, bytes: squashfs, uuid: o.ids.root },
    overlay: { name: 'overlay', offset: HEAD + esp + squashfs, bytes: rest - squashfs, uuid: o.ids.overlay },
  };
}

/** The disk size asked for cannot hold the root: says how much it needs. */
export class DiskTooSmallError extends BuildError {
  constructor(
    readonly sizeBytes: number,
    readonly neededBytes: number,
    parts: { root: number; esp: number; squashfs?: number },
  ) {
    const root =
      parts.squashfs !== undefined
        ? `the root's ${formatBytes(parts.squashfs)} squashfs, a ${formatBytes(MIN_OVERLAY_BYTES)} overlay partition`
        : `the root's ${formatBytes(parts.root)} of files on ext4`;
    super(
      `the disk's ${formatBytes(sizeBytes)} cannot hold it: it needs at least ${Math.ceil(neededBytes / MIB)}M ` +
        `(${neededBytes} bytes: ${root}, a ${formatBytes(parts.esp)} ESP and the GPT); ` +
        'raise disk.size or --size (IMG_SIZE), or leave them unset',
      'disk-image',
    );
  }
}

/**
 * sfdisk's script for the layout: fixed disk and partition GUIDs, the ESP marked legacy-BIOS
 * bootable (gptmbr.bin boots the partition carrying that attribute).
 */
export function sfdiskScript(layout: DiskLayout, ids: DiskIds): string {
  const line = (p: Partition, extra = '') =>
    `start=${p.offset / SECTOR}, size=${p.bytes / SECTOR}, type=${PARTITION_TYPES[p.name]}, uuid=${p.uuid}, name="${p.name}"${extra}`;
  return [
    'label: gpt',
    `label-id: ${ids.disk}`,
    'unit: sectors',
    'sector-size: 512',
    'first-lba: 2048',
    `last-lba: ${(layout.bytes - TAIL) / SECTOR - 1}`,
    '',
    line(layout.esp, ', attrs="LegacyBIOSBootable"'),
    line(layout.root),
    ...(layout.overlay ? [line(layout.overlay)] : []),
    '',
  ].join('\n');
}
