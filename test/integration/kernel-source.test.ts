import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';
import { makeBusyboxRoot } from '../../src/image/containerfs.js';
import { writeOutputs } from '../../src/image/outputs.js';
import { resolveBootTarget } from '../../src/image/qemu.js';
import { runInVm } from '../../src/image/run-vm.js';
import { writeMicrovmLayer } from '../../src/microvm/layer.js';
import { diskStage } from '../../src/stages/disk.js';
import { targetPlanFields } from '../../src/stage/targets.js';
import {
  builtMicrovmKernel,
  kernelSourceTarball,
  kernelStageContext,
  microvmKernelSpec,
  runKernelStage,
  type BuiltKernel,
} from '../helpers/built-kernel.js';
import { runStageWith, type TestStageContext } from '../helpers/stage-context.js';
import { makeStageContext, tinySpec } from './boot-fixtures.js';

/**
 * A kernel built from Debian's linux-source-6.1 by the kernel stage (microvm preset, the drivers
 * array built in), shared by every test of the run (test/helpers/built-kernel.ts): one cold
 * build, then only cheap reuses — a second tree elsewhere hits ccache and must link the same bytes.
 */
const BUILD_MS = 90 * 60_000;
const BOOT_MS = 300_000;

describe('kernel built from source', () => {
  let dir: string;
  let kernel: BuiltKernel;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-kernel-'));
    kernel = await builtMicrovmKernel();
  }, BUILD_MS);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'builds virtio-blk and ext4 in, no modules: the firecracker folder has no initrd and boots to uname -r',
    async () => {
      const config = await readFile(join(kernel.bootfs, `config-${kernel.version}`), 'utf8');
      for (const option of [
        'CONFIG_VIRTIO_BLK=y',
        'CONFIG_VIRTIO_MMIO=y',
        'CONFIG_EXT4_FS=y',
        'CONFIG_PVH=y',
        // The preset's boot-time choices (docs/kernel.md, Boot time).
        'CONFIG_KERNEL_LZ4=y',
        'CONFIG_CONSOLE_LOGLEVEL_DEFAULT=4',
        '# CONFIG_LEGACY_PTYS is not set',
      ])
        expect(config.split('\n')).toContain(option);
      expect(config).not.toMatch(/^CONFIG_\w+=m$/m);
      expect(await readFile(join(kernel.modules, 'modules.builtin'), 'utf8')).toMatch(/virtio_blk\.ko/);

      const rootfs = join(dir, 'root');
      await makeBusyboxRoot(rootfs);
      await mkdir(join(rootfs, 'lib/modules'), { recursive: true });
      await run('cp', ['-a', kernel.modules, join(rootfs, 'lib/modules/')]);
      const bootfs = join(dir, 'bootfs');
      await mkdir(bootfs);
      for (const f of await readdir(kernel.bootfs)) await copyFile(join(kernel.bootfs, f), join(bootfs, f));
      const made = await makeStageContext(
        'tether',
        { rootfs, bootfs, artifacts: join(dir, 'artifacts'), tmpDir: join(dir, 'tmp') },
        tinySpec({ compression: 'auto', microvm: { vcpus: 1, memory: 256, cmdline: '' } }),
        { kernelVersion: kernel.version },
      );
      const ctx: TestStageContext = { ...made, plan: { ...made.plan, ...targetPlanFields('firecracker') } };
      await writeMicrovmLayer(ctx, undefined);
      await runStageWith(diskStage, { ...ctx, stage: 'disk' });

      const [folder] = await writeOutputs(
        { ...ctx.plan, options: { ...ctx.plan.options, outputDir: join(dir, 'bin') } },
        { artifacts: ctx.artifacts },
      );
      expect((await readdir(folder!)).sort()).toEqual(['rootfs.ext4', 'vm-config.json', 'vmlinux']);
      const vmConfig = JSON.parse(await readFile(join(folder!, 'vm-config.json'), 'utf8'));
      expect(vmConfig['boot-source']).not.toHaveProperty('initrd_path');

      const out: string[] = [];
      const status = await runInVm({
        vm: {
          target: await resolveBootTarget(folder!),
          uefi: false,
          diskInterface: 'virtio',
          memoryMb: 256,
          accel: 'tcg',
        },
        argv: ['uname', '-r'],
        timeoutMs: BOOT_MS,
        onOutput: (l) => out.push(l),
      });
      expect(out).toEqual([kernel.version]);
      expect(status).toBe(0);
    },
    BOOT_MS + 120_000,
  );

  it(
    'a second build in another folder gives a byte-identical bzImage and vmlinux',
    async () => {
      const ctx = await kernelStageContext(
        join(dir, 'elsewhere'),
        microvmKernelSpec(await kernelSourceTarball()),
      );
      await runKernelStage(ctx);
      expect(ctx.meta.kernelVersion).toBe(kernel.version);
      const ours = await readFile(join(ctx.bootfs, 'vmlinuz'));
      expect(ours.equals(await readFile(join(kernel.bootfs, 'vmlinuz')))).toBe(true);
      const trees = join(dir, 'elsewhere', 'kernel-trees');
      const [tree] = (await readdir(trees)).filter((n) => !n.endsWith('.lock'));
      const vmlinux = await readFile(join(trees, tree!, 'out', 'vmlinux'));
      expect(vmlinux.equals(await readFile(kernel.vmlinux))).toBe(true);
      // The path of the tree is nowhere in the kernel.
      expect(vmlinux.includes(Buffer.from(join(dir, 'elsewhere')))).toBe(false);
      expect(await readFile(join(ctx.bootfs, `config-${kernel.version}`), 'utf8')).toBe(
        await readFile(join(kernel.bootfs, `config-${kernel.version}`), 'utf8'),
      );
    },
    BUILD_MS,
  );
});
