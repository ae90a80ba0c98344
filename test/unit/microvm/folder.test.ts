import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../src/errors.js';
import { hostTscKhz, qemuArgs, resolveBootTarget } from '../../../src/image/qemu.js';
import { microvmRunArg } from '../../../src/image/run-vm.js';
import { vmOptionsFrom } from '../../../src/image/vm-flags.js';
import { guessMicrovmFolder } from '../../../src/microvm/folder.js';
import { makeVmConfig } from '../../../src/microvm/vm-config.js';
import { parseSize } from '../../../src/microvm/size.js';
import { makeSpec } from '../../helpers/stage-context.js';

describe('microVM folders', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-microvm-folder-'));
    for (const f of ['vmlinux', 'initrd.img', 'rootfs.squashfs']) await writeFile(join(dir, f), f);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("boots with the folder's mem_size_mib unless --memory says otherwise", async () => {
    const spec = makeSpec({ microvm: { vcpus: 1, memory: 384, cmdline: '' } });
    await writeFile(join(dir, 'vm-config.json'), JSON.stringify(makeVmConfig(spec, 'squashfs', true)));
    const flags = { timeout: '60', accel: 'tcg' };
    expect((await vmOptionsFrom(dir, flags)).memoryMb).toBe(384);
    expect((await vmOptionsFrom(dir, { ...flags, memory: '2048' })).memoryMb).toBe(2048);
  });

  it("writes Firecracker's config and reads it back as qemu -M microvm's options", async () => {
    const spec = makeSpec({
      cmdline: 'quiet',
      microvm: { vcpus: 2, memory: 512, cmdline: 'isobuild.end=poweroff' },
    });
    const config = makeVmConfig(spec, 'squashfs', true);
    expect(config).toEqual({
      'boot-source': {
        kernel_image_path: 'vmlinux',
        boot_args:
          'console=ttyS0 reboot=k panic=1 pci=off rootfstype=squashfs init=/usr/lib/isobuild/microvm/init quiet isobuild.end=poweroff',
        initrd_path: 'initrd.img',
      },
      drives: [
        { drive_id: 'rootfs', path_on_host: 'rootfs.squashfs', is_root_device: true, is_read_only: true },
      ],
      'machine-config': { vcpu_count: 2, mem_size_mib: 512, smt: false },
    });
    await writeFile(join(dir, 'vm-config.json'), JSON.stringify(config));
    const target = await resolveBootTarget(dir);
    expect(target).toMatchObject({
      kind: 'microvm',
      kernel: join(dir, 'vmlinux'),
      initrd: join(dir, 'initrd.img'),
      drives: [{ path: join(dir, 'rootfs.squashfs'), readOnly: true }],
    });
    // Firecracker adds root= for the root drive; so does isobuild boot.
    expect(target.kind === 'microvm' && target.cmdline).toMatch(/isobuild.end=poweroff root=\/dev\/vda ro$/);
    const args = qemuArgs({
      target,
      uefi: false,
      disks: [],
      diskInterface: 'virtio',
      memoryMb: 256,
      accel: 'kvm',
    });
    expect(args.slice(0, 4)).toEqual(['-M', 'microvm', '-nodefaults', '-no-user-config']);
    expect(args).toEqual(
      expect.arrayContaining([
        '-kernel',
        join(dir, 'vmlinux'),
        '-initrd',
        join(dir, 'initrd.img'),
        `id=vd0,if=none,file=${join(dir, 'rootfs.squashfs')},format=raw,readonly=on`,
        'virtio-blk-device,drive=vd0',
      ]),
    );
    expect(args.join(' ')).not.toMatch(/pflash|cdrom|if=ide|tsc_early_khz/);
    const tcg = qemuArgs({
      target,
      uefi: false,
      disks: [],
      diskInterface: 'virtio',
      memoryMb: 256,
      accel: 'tcg',
    });
    expect(tcg[tcg.indexOf('-append') + 1]).toMatch(/ tsc_early_khz=\d+$/);
    expect(() =>
      qemuArgs({ target, uefi: true, disks: [], diskInterface: 'virtio', memoryMb: 256, accel: 'tcg' }, '/x'),
    ).toThrow(UsageError);
  });

  it('names the file a broken vm-config.json points at', async () => {
    await writeFile(
      join(dir, 'vm-config.json'),
      JSON.stringify({ 'boot-source': { kernel_image_path: 'nope' }, drives: [] }),
    );
    await expect(resolveBootTarget(dir)).rejects.toThrow(
      /vm-config.json: names .*nope, which does not exist/,
    );
    await writeFile(join(dir, 'vm-config.json'), '{');
    await expect(resolveBootTarget(dir)).rejects.toThrow(UsageError);
  });

  it('--microvm boots a folder without vm-config.json from its file names', async () => {
    const target = await guessMicrovmFolder(dir);
    expect(target).toMatchObject({ initrd: join(dir, 'initrd.img'), drives: [{ readOnly: true }] });
    expect(target.cmdline).toMatch(/rootfstype=squashfs .* root=\/dev\/vda ro$/);
    await rm(join(dir, 'rootfs.squashfs'));
    await expect(guessMicrovmFolder(dir)).rejects.toThrow(/needs rootfs.ext4 or rootfs.squashfs/);
  });

  it("carries isobuild run's command on the kernel line, base64, and refuses one too long for it", () => {
    const arg = microvmRunArg(['sh', '-c', `echo "it's"`]);
    expect(arg).toMatch(/^isobuild\.run=[A-Za-z0-9+/=]+$/);
    expect(Buffer.from(arg.slice('isobuild.run='.length), 'base64').toString()).toContain(
      `exec 'sh' '-c' 'echo "it'\\''s"'`,
    );
    expect(() => microvmRunArg(['echo', 'x'.repeat(2000)])).toThrow(
      /too long for a microVM's kernel command line/,
    );
  });

  it("reads osbuilder's IMG_SIZE notation and the host's TSC rate", () => {
    expect(parseSize('256M')).toBe(256 * 1024 * 1024);
    expect(parseSize('1g')).toBe(1024 ** 3);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('12MB')).toBeUndefined();
    expect(parseSize('0')).toBeUndefined();
    expect(hostTscKhz('processor : 0\ncpu MHz\t\t: 2596.120\n')).toBe(2596120);
    expect(hostTscKhz('no rate here')).toBeUndefined();
  });
});
