import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';
import { makeBusyboxRoot } from '../../src/image/containerfs.js';
import { writeOutputs } from '../../src/image/outputs.js';
import { bootVm, resolveBootTarget, type VmOptions } from '../../src/image/qemu.js';
import { runInVm } from '../../src/image/run-vm.js';
import { writeMicrovmLayer } from '../../src/microvm/layer.js';
import type { DiskFormat } from '../../src/stage/types.js';
import { copyTree } from '../../src/fs/fs-tree.js';
import { diskStage } from '../../src/stages/disk.js';
import { cloudKernel, makeStageContext, tinySpec, type CloudKernel } from './boot-fixtures.js';
import { runStageWith, type TestStageContext } from '../helpers/stage-context.js';
import { targetPlanFields } from '../../src/stage/targets.js';

/**
 * The microVM outputs end to end on a root we did not tune for (busybox only) and Debian's
 * cloud kernel (virtio-mmio, virtio-blk, squashfs and overlayfs as modules): the tether stage's
 * microVM layer, the disk stage, the firecracker folder writer, then qemu -M microvm (Firecracker's
 * device model) boots the folder. One boot per root image; the reproducibility checks rebuild
 * without booting.
 */
const BOOT_MS = 300_000;
const JEST_MS = BOOT_MS + 120_000;

/** The modules the microVM initrd needs from this kernel (ext4 is built in). */
const MODULES = [
  'drivers/virtio/virtio.ko',
  'drivers/virtio/virtio_ring.ko',
  'drivers/virtio/virtio_mmio.ko',
  'drivers/block/virtio_blk.ko',
  'fs/squashfs/squashfs.ko',
  'fs/overlayfs/overlay.ko',
];

async function makeMicrovmRoot(root: string, kernel: CloudKernel): Promise<void> {
  await makeBusyboxRoot(root);
  const to = join(root, 'lib/modules', kernel.version);
  for (const m of MODULES) {
    await mkdir(join(to, 'kernel', m, '..'), { recursive: true });
    await copyFile(join(kernel.modules, 'kernel', m), join(to, 'kernel', m));
  }
  for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order'])
    await copyFile(join(kernel.modules, f), join(to, f));
  await run('depmod', ['-b', root, kernel.version]);
}

describe('microVM folders under qemu -M microvm', () => {
  let dir: string;
  let kernel: CloudKernel;
  let base: string;
  let bootfs: string;

  /** The tether stage's microVM layer and the disk stage on a copy of the tiny root. */
  async function buildDisk(name: string, disk: DiskFormat, app?: string[]): Promise<TestStageContext> {
    const rootfs = join(dir, name, 'rootfs');
    await mkdir(join(dir, name));
    await copyTree(base, rootfs);
    const spec = tinySpec({
      compression: 'auto',
      microvm: { vcpus: 1, memory: 256, cmdline: '', ...(app ? { app } : {}) },
    });
    const made = await makeStageContext(
      'tether',
      { rootfs, bootfs, artifacts: join(dir, name, 'artifacts'), tmpDir: join(dir, name, 'tmp') },
      spec,
      { kernelVersion: kernel.version },
    );
    const ctx: TestStageContext = {
      ...made,
      plan: {
        ...made.plan,
        ...targetPlanFields(disk === 'ext4' ? 'firecracker' : 'celestial'),
      },
    };
    await writeMicrovmLayer(ctx, app);
    await runStageWith(diskStage, { ...ctx, stage: 'disk' });
    return ctx;
  }

  async function vmFor(ctx: TestStageContext, name: string): Promise<Omit<VmOptions, 'disks'>> {
    const [folder] = await writeOutputs(
      { ...ctx.plan, options: { ...ctx.plan.options, outputDir: join(dir, name) } },
      { artifacts: ctx.artifacts },
    );
    return {
      target: await resolveBootTarget(folder!),
      uefi: false,
      diskInterface: 'virtio',
      memoryMb: 256,
      accel: 'tcg',
    };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-microvm-'));
    kernel = await cloudKernel();
    base = join(dir, 'base');
    await makeMicrovmRoot(base, kernel);
    bootfs = join(dir, 'bootfs');
    await mkdir(bootfs);
    await copyFile(kernel.vmlinuz, join(bootfs, 'vmlinuz'));
    await copyFile(
      join(kernel.modules, '../../../boot', `config-${kernel.version}`),
      join(bootfs, `config-${kernel.version}`),
    );
  }, JEST_MS);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'firecracker folder (vmlinux + rootfs.ext4 + initrd + vm-config.json): isobuild run prints uname -r',
    async () => {
      const ctx = await buildDisk('ext4', 'ext4');
      const vm = await vmFor(ctx, 'ext4');
      expect((await readdir(join(dir, 'ext4', 'firecracker-tiny'))).sort()).toEqual([
        'initrd.img',
        'rootfs.ext4',
        'vm-config.json',
        'vmlinux',
      ]);
      const config = JSON.parse(
        await readFile(join(dir, 'ext4', 'firecracker-tiny', 'vm-config.json'), 'utf8'),
      );
      expect(config).toMatchObject({
        'boot-source': { kernel_image_path: 'vmlinux', initrd_path: 'initrd.img' },
        drives: [
          { drive_id: 'rootfs', path_on_host: 'rootfs.ext4', is_root_device: true, is_read_only: false },
        ],
        'machine-config': { vcpu_count: 1, mem_size_mib: 256 },
      });
      expect(config['boot-source'].boot_args).toMatch(/^console=ttyS0 reboot=k panic=1 pci=off /);
      const out: string[] = [];
      const status = await runInVm({
        vm,
        argv: ['sh', '-c', 'uname -r; touch /written && echo root is writable; exit 5'],
        timeoutMs: BOOT_MS,
        onOutput: (l) => out.push(l),
      });
      expect(out).toEqual([kernel.version, 'root is writable']);
      expect(status).toBe(5);
      // The boot wrote to a snapshot: the output's image is as built.
      const again = await buildDisk('ext4-again', 'ext4');
      for (const f of ['rootfs.ext4', 'vmlinux', 'initrd.img', 'vm-config.json'])
        expect(
          (await readFile(join(ctx.artifacts, f))).equals(await readFile(join(again.artifacts, f))),
        ).toBe(true);
      expect(
        (await readFile(join(dir, 'ext4', 'firecracker-tiny', 'rootfs.ext4'))).equals(
          await readFile(join(again.artifacts, 'rootfs.ext4')),
        ),
      ).toBe(true);
    },
    JEST_MS,
  );

  it(
    'first boot on a busybox-only root: isobuild.hostname and isobuild.ssh_key from the kernel command line',
    async () => {
      const ctx = await buildDisk('firstboot', 'ext4');
      const vm = await vmFor(ctx, 'firstboot');
      const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0x+y/z test@isobuild';
      const out: string[] = [];
      const status = await runInVm({
        vm: { ...vm, append: `isobuild.hostname=foo isobuild.ssh_key="${key}"` },
        argv: [
          'sh',
          '-c',
          'hostname; cat /etc/hostname /root/.ssh/authorized_keys; stat -c %a /root/.ssh /root/.ssh/authorized_keys',
        ],
        timeoutMs: BOOT_MS,
        onOutput: (l) => out.push(l),
      });
      expect(out).toEqual(['foo', 'foo', key, '700', '600']);
      expect(status).toBe(0);
    },
    JEST_MS,
  );

  it(
    "celestial folder: squashfs root under a tmpfs overlay runs the spec's app, shows its status, stops the VM",
    async () => {
      const ctx = await buildDisk('squashfs', 'squashfs', [
        'sh',
        '-c',
        'echo app ran on $(uname -r); echo x > /etc/x && cat /etc/x; exit 3',
      ]);
      const vm = await vmFor(ctx, 'squashfs');
      const lines: string[] = [];
      const res = await bootVm(
        { ...vm, disks: [] },
        { expect: [], timeoutMs: BOOT_MS, onLine: (l) => lines.push(l) },
      );
      // Nothing stopped qemu but the guest itself.
      expect(res.reason).toBe('exited');
      const begin = lines.indexOf('ISOBUILD-BEGIN');
      expect(lines.slice(begin + 1, begin + 4)).toEqual([
        `app ran on ${kernel.version}`,
        'x',
        'ISOBUILD-EXIT 3',
      ]);
      expect(lines.join('\n')).toMatch(/read-only root: tmpfs overlay/);
      expect(lines.join('\n')).toMatch(/\/app.sh exited with status 3; stopping the VM/);
      const again = await buildDisk('squashfs-again', 'squashfs', [
        'sh',
        '-c',
        'echo app ran on $(uname -r); echo x > /etc/x && cat /etc/x; exit 3',
      ]);
      expect(
        (await readFile(join(ctx.artifacts, 'rootfs.squashfs'))).equals(
          await readFile(join(again.artifacts, 'rootfs.squashfs')),
        ),
      ).toBe(true);
    },
    JEST_MS,
  );
});
