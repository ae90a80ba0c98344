import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';
import { bootVm, type BootTarget } from '../../src/image/qemu.js';
import { initrdStage } from '../../src/stages/initrd.js';
import { isoStage } from '../../src/stages/iso.js';
import { makeStageContext, makeTinyTrees, SDE, tinySpec } from './boot-fixtures.js';
import { runStageWith } from '../helpers/stage-context.js';

/**
 * The real initrd and iso stages on a tiny busybox root with Debian's cloud kernel: the ISO
 * is built twice (same bytes), then booted under BIOS (isolinux), under UEFI (OVMF + GRUB)
 * and as a USB stick (the isohybrid MBR), each time until the tiny init says it is up.
 */
/** Generous: TCG on a busy 2-core host can take a minute to get through OVMF. */
const BOOT_MS = 300_000;
const JEST_MS = BOOT_MS + 60_000;

describe('initrd + iso stages on a tiny root', () => {
  let dir: string;
  let first: string;
  let second: string;

  async function buildInto(artifacts: string, rootfs: string, bootfs: string, tag: string): Promise<void> {
    const spec = tinySpec({ cmdline: 'isobuild.test=1' });
    const tmp = (s: string) => join(dir, `tmp-${tag}-${s}`);
    await runStageWith(
      initrdStage,
      await makeStageContext('initrd', { rootfs, bootfs, artifacts, tmpDir: tmp('initrd') }, spec),
    );
    await runStageWith(
      isoStage,
      await makeStageContext('iso', { rootfs, bootfs, artifacts, tmpDir: tmp('iso') }, spec),
    );
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-image-iso-'));
    const { rootfs, bootfs } = await makeTinyTrees(dir);
    first = join(dir, 'artifacts-1');
    second = join(dir, 'artifacts-2');
    await buildInto(first, rootfs, bootfs, '1');
    // Newer mtimes in the root must not matter: they are clamped to SOURCE_DATE_EPOCH.
    await writeFile(join(rootfs, 'init'), await readFile(join(rootfs, 'init')));
    await buildInto(second, rootfs, bootfs, '2');
  }, JEST_MS);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the artifacts: initrd (zstd), kernel, command line and the ISO', async () => {
    const initrd = await readFile(join(first, 'initrd.img'));
    expect(initrd.readUInt32LE(0)).toBe(0xfd2fb528); // zstd frame magic
    expect(await readFile(join(first, 'cmdline'), 'utf8')).toBe(
      'console=tty0 console=ttyS0,115200 panic=-1 cryptomgr.notests isobuild.test=1\n',
    );
    expect((await stat(join(first, 'vmlinuz'))).mtimeMs / 1000).toBe(SDE);
    const info = await run('xorriso', ['-indev', join(first, 'image.iso'), '-pvd_info']);
    expect(info.all).toMatch(/Volume Id\s*:\s*ISOBUILD_0_1_0_TINY/);
    expect(info.all).toMatch(/Publisher Id\s*:\s*ISOBUILD 0\.1\.0/);
  });

  it('gives byte-identical initrd and ISO from the same root', async () => {
    for (const f of ['initrd.img', 'image.iso', 'vmlinuz', 'cmdline'])
      expect((await readFile(join(first, f))).equals(await readFile(join(second, f)))).toBe(true);
  });

  const iso = (): BootTarget => ({ kind: 'iso', iso: join(first, 'image.iso') });
  const vm = { disks: [], diskInterface: 'virtio' as const, memoryMb: 512, accel: 'tcg' as const };
  const up = [/tiny-init: up on /];

  it(
    'boots under BIOS from the CD (isolinux) with the command line',
    async () => {
      const cmdline = /isobuild\.test=1/;
      const res = await bootVm({ ...vm, target: iso(), uefi: false }, { expect: up, timeoutMs: BOOT_MS });
      expect(res.reason).toBe('matched');
      expect(res.lines.some((l) => cmdline.test(l))).toBe(true); // the kernel prints its command line
    },
    JEST_MS,
  );

  it(
    'boots under UEFI from the CD (OVMF, GRUB on the El Torito EFI image), GRUB printing no error',
    async () => {
      const res = await bootVm({ ...vm, target: iso(), uefi: true }, { expect: up, timeoutMs: BOOT_MS });
      expect(res.reason).toBe('matched');
      // The embedded config runs under GRUB's rescue parser, which takes a comment for a command.
      expect(res.lines.join('\n')).not.toMatch(/Unknown command/);
    },
    JEST_MS,
  );

  it(
    'boots under BIOS as a USB stick (isohybrid MBR)',
    async () => {
      const stick: BootTarget = { kind: 'iso', iso: join(first, 'image.iso'), asDisk: true };
      const res = await bootVm({ ...vm, target: stick, uefi: false }, { expect: up, timeoutMs: BOOT_MS });
      expect(res.reason).toBe('matched');
    },
    JEST_MS,
  );
});
