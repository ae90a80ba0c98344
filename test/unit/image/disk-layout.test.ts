import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectImageFormat } from '../../../src/image/disk-detect.js';
import { convertArgs } from '../../../src/image/disk-formats.js';
import {
  DiskTooSmallError,
  MIB,
  MIN_OVERLAY_BYTES,
  diskIds,
  minimumDiskBytes,
  planDisk,
  sfdiskScript,
} from '../../../src/image/disk-layout.js';

const ids = diskIds('debian-12/appliance/disk');

describe('planDisk', () => {
  test('ids are fixed by the seed and differ between seeds', () => {
    expect(diskIds('debian-12/appliance/disk')).toEqual(ids);
    expect(diskIds('other/appliance/disk').disk).not.toBe(ids.disk);
    expect(ids.espVolumeId).toMatch(/^[0-9a-f]{8}$/);
  });

  test('default size: 1 MiB of GPT, the ESP, the root with headroom and 1 MiB for the backup GPT, in whole MiB', () => {
    const layout = planDisk({ espFileBytes: 10 * MIB, rootTreeBytes: 100 * MIB, ids });
    expect(layout.esp.offset).toBe(MIB);
    expect(layout.root.offset).toBe(layout.esp.offset + layout.esp.bytes);
    expect(layout.root.offset + layout.root.bytes + MIB).toBe(layout.bytes);
    expect(layout.bytes % MIB).toBe(0);
    expect(layout.root.bytes).toBeGreaterThanOrEqual(125 * MIB);
  });

  test('a given size is the whole disk, rounded up to MiB', () => {
    const layout = planDisk({
      espFileBytes: 10 * MIB,
      rootTreeBytes: 100 * MIB,
      size: 2 * 1024 * MIB - 5,
      ids,
    });
    expect(layout.bytes).toBe(2 * 1024 * MIB);
  });

  test('a size too small for the root is refused, naming the size it needs', () => {
    const plan = () => planDisk({ espFileBytes: 10 * MIB, rootTreeBytes: 100 * MIB, size: 64 * MIB, ids });
    expect(plan).toThrow(DiskTooSmallError);
    const needed = minimumDiskBytes(32 * MIB, 100 * MIB);
    expect(plan).toThrow(`it needs at least ${needed / MIB}M`);
    expect(() =>
      planDisk({ espFileBytes: 10 * MIB, rootTreeBytes: 100 * MIB, size: needed, ids }),
    ).not.toThrow();
  });

  test("sfdisk's script fixes the GUIDs and marks the ESP legacy-BIOS bootable", () => {
    const layout = planDisk({ espFileBytes: MIB, rootTreeBytes: MIB, ids });
    const script = sfdiskScript(layout, ids);
    expect(script).toContain(`label-id: ${ids.disk}`);
    expect(script).toContain(
      `start=2048, size=${layout.esp.bytes / 512}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=${ids.esp}, name="esp", attrs="LegacyBIOSBootable"`,
    );
    expect(script).toContain(`uuid=${ids.root}, name="root"`);
  });
});

describe('planDisk with a squashfs root', () => {
  test('the root partition holds the squashfs exactly (whole MiB); the overlay partition takes the rest', () => {
    const layout = planDisk({
      espFileBytes: 10 * MIB,
      rootTreeBytes: 100 * MIB,
      squashfsBytes: 37 * MIB + 5,
      ids,
    });
    expect(layout.root.bytes).toBe(38 * MIB);
    expect(layout.overlay).toBeDefined();
    const overlay = layout.overlay!;
    expect(overlay.offset).toBe(layout.root.offset + layout.root.bytes);
    expect(overlay.offset + overlay.bytes + MIB).toBe(layout.bytes);
    expect(overlay.bytes).toBeGreaterThanOrEqual(64 * MIB);
    expect(overlay.uuid).toBe(ids.overlay);
    const script = sfdiskScript(layout, ids);
    expect(script).toContain(
      `start=${overlay.offset / 512}, size=${overlay.bytes / 512}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=${ids.overlay}, name="overlay"`,
    );
  });

  test('a given size goes to the overlay; one without room for the overlay is refused, naming the size', () => {
    const base = { espFileBytes: 10 * MIB, rootTreeBytes: 100 * MIB, squashfsBytes: 40 * MIB, ids };
    const layout = planDisk({ ...base, size: 1024 * MIB });
    expect(layout.bytes).toBe(1024 * MIB);
    expect(layout.overlay!.bytes).toBe(1024 * MIB - MIB - layout.esp.bytes - 40 * MIB - MIB);
    const needed = MIB + 32 * MIB + 40 * MIB + MIN_OVERLAY_BYTES + MIB;
    const small = () => planDisk({ ...base, size: needed - MIB });
    expect(small).toThrow(DiskTooSmallError);
    expect(small).toThrow(`it needs at least ${needed / MIB}M`);
    expect(small).toThrow('40.0 MiB squashfs');
    expect(planDisk({ ...base, size: needed }).overlay!.bytes).toBe(MIN_OVERLAY_BYTES);
  });

  test('an ext4 root has no overlay partition', () => {
    const layout = planDisk({ espFileBytes: MIB, rootTreeBytes: MIB, ids });
    expect(layout.overlay).toBeUndefined();
    expect(sfdiskScript(layout, ids)).not.toContain('overlay');
  });
});

describe('disk formats', () => {
  test.each([
    ['qcow2', ['-c', '-o', 'compression_type=zlib']],
    ['vmdk', ['-o', 'subformat=streamOptimized']],
    ['vhdx', ['-o', 'subformat=dynamic']],
    ['vpc', ['-o', 'subformat=fixed,force_size=on']],
  ] as const)('%s: qemu-img convert with one coroutine (clusters in order)', (format, options) => {
    expect(convertArgs(format, 'in.raw', 'out')).toEqual([
      'convert',
      '-m',
      '1',
      '-f',
      'raw',
      '-O',
      format,
      ...options,
      'in.raw',
      'out',
    ]);
  });

  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-detect-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test.each([
    ['qcow2', (b: Buffer) => b.write('QFI\xfb', 0, 'latin1')],
    ['vmdk', (b: Buffer) => b.write('KDMV', 0, 'latin1')],
    ['vhdx', (b: Buffer) => b.write('vhdxfile', 0, 'latin1')],
    ['vpc', (b: Buffer) => b.write('conectix', b.length - 512, 'latin1')],
    ['raw', (b: Buffer) => b.write('EFI PART', 512, 'latin1')],
    ['iso', (b: Buffer) => (b.write('EFI PART', 512, 'latin1'), b.write('CD001', 32769, 'latin1'))],
  ] as const)('detectImageFormat tells %s by its magic', async (format, mark) => {
    const buf = Buffer.alloc(64 * 1024);
    mark(buf);
    const file = join(dir, format);
    await writeFile(file, buf);
    expect(await detectImageFormat(file)).toBe(format);
  });

  test('a file with no known magic is nothing', async () => {
    const file = join(dir, 'zeros');
    await writeFile(file, '');
    await truncate(file, 4096);
    expect(await detectImageFormat(file)).toBeUndefined();
  });
});
