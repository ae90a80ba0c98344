import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import { INIT_APPLETS, READ_EXT4_LABEL_FN, readBusyboxVersion } from '../../../src/tether/init-layer.js';

describe('init layer userland', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-init-layer-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("has every applet the init runs in the host's busybox-static", async () => {
    const applets = (await run('/bin/busybox', ['--list'])).stdout.split('\n');
    for (const a of Object.keys(INIT_APPLETS)) expect(applets).toContain(a);
    expect(await readBusyboxVersion()).toMatch(/^BusyBox v\d+\.\d+/);
  });

  it('reads an ext4 label from the superblock with busybox dd, od and tr only', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    for (const a of ['dd', 'od', 'tr']) await symlink('/bin/busybox', join(bin, a));
    const labelled = join(dir, 'labelled.img');
    const other = join(dir, 'vfat.img');
    await run('mkfs.ext4', ['-q', '-L', 'containerfs', labelled, '8M']);
    await run('truncate', ['-s', '1M', other]);
    const readLabel = (img: string) =>
      run('/bin/busybox', ['sh', '-c', `${READ_EXT4_LABEL_FN}\nread_ext4_label "$1"`, 'sh', img], {
        cleanEnv: true,
        env: { PATH: bin },
        allowFailure: true,
      });
    const res = await readLabel(labelled);
    expect(res.stdout).toBe('containerfs');
    expect(res.exitCode).toBe(0);
    // Not ext4 (no 0xEF53 magic): no label, a non-zero status.
    const none = await readLabel(other);
    expect(none.stdout).toBe('');
    expect(none.exitCode).not.toBe(0);
  });
});
