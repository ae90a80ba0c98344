import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import { renderGrubCfg } from '../../../src/image/boot-config.js';
import { makeGrubEfi } from '../../../src/image/efi.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'isobuild-grub-embedded-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

test('the config embedded in a real grub-mkimage BOOTX64.EFI has no comment lines and all commands', async () => {
  const cfg = await renderGrubCfg({
    version: '0.0.0',
    repo: 'r',
    serialPort: 0,
    volid: 'ISOBUILD',
    kernel: 'boot/vmlinuz',
    initrd: 'boot/initrd.img',
    cmdline: 'console=ttyS0',
  });
  expect(cfg).toMatch(/^# GRUB configuration/m);
  const efi = (await readFile(await makeGrubEfi(run, cfg, work))).toString('latin1');
  expect(efi).not.toContain('# GRUB configuration');
  expect(efi).toContain('search --no-floppy --set=root --label ISOBUILD');
  expect(efi).toContain('linux /boot/vmlinuz');
});
