import { copyFile, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError, InternalError } from '../errors.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import { compressorCommands, pickCompression } from '../image/compress.js';
import { profileContent } from '../image/profile.js';
import { readKernelConfig } from '../kernel/kernel-config.js';
import { formatBytes } from '../fs/disk-space.js';
import { clampTimes } from '../image/files.js';
import { makeExt4Image, makeSquashfsImage, squashfsCompression } from '../image/rootfs-image.js';
import { extractVmlinux, VMLINUX_COMMANDS } from '../kernel/vmlinux.js';
import { kernelArchOf } from '../image/detect-arch.js';
import { makeMicrovmInitrd } from '../microvm/initrd.js';
import { MICROVM_FILES, makeVmConfig } from '../microvm/vm-config.js';
import { defineStage, type DiskFormat, type StageContext } from '../stage/types.js';
import type { CompressionChoice } from '../spec/types.js';
import type { VmConfigSpec } from '../microvm/vm-config.js';

interface DiskInputs {
  /** The root image to make; none for the kernel alone. */
  readonly disk?: DiskFormat;
  /** rootfs.ext4's size: --size (IMG_SIZE), else the spec's microvm.size, else content + headroom. */
  readonly size?: number;
  readonly compression: CompressionChoice;
  readonly vm: VmConfigSpec;
  /** Seeds rootfs.ext4's UUID and hash seed, so each repo and flavour has its own. */
  readonly seed: string;
  readonly owners: boolean;
  readonly sourceDateEpoch: number;
}

async function runDisk(ctx: StageContext, inputs: DiskInputs): Promise<void> {
  const { disk } = inputs;
  const sde = inputs.sourceDateEpoch;
  const version = ctx.meta.kernelVersion;
  if (!version) throw new BuildError('no kernel version recorded by iso-base/drivers', 'disk');

  const bzImage = join(ctx.bootfs, 'vmlinuz');
  const kernelBytes = await readFile(bzImage);
  // arm64's kernel is an Image already, which Firecracker and qemu take as it is: no ELF inside.
  const vmlinux =
    kernelArchOf(kernelBytes) === 'arm64' ? kernelBytes : await extractVmlinux(kernelBytes, ctx.run, bzImage);
  const vmlinuxPath = join(ctx.artifacts, MICROVM_FILES.kernel);
  await rm(vmlinuxPath, { force: true });
  await writeFile(vmlinuxPath, vmlinux);
  await clampTimes(vmlinuxPath, sde);
  const bzImagePath = join(ctx.artifacts, MICROVM_FILES.bzImage);
  await rm(bzImagePath, { force: true });
  await copyFile(bzImage, bzImagePath);
  await clampTimes(bzImagePath, sde);
  ctx.logger.info(
    `disk: vmlinux ${formatBytes(vmlinux.length)} (${vmlinux === kernelBytes ? 'the arm64 Image' : `ELF, from the ${version} bzImage`})`,
  );
  if (!disk) return;

  const config = await readKernelConfig(ctx.bootfs, version);
  const initrd = await makeMicrovmInitrd(
    ctx,
    version,
    disk,
    pickCompression(inputs.compression, config, ctx.stage).compression,
    join(ctx.artifacts, MICROVM_FILES.initrd),
  );
  if (initrd) {
    await clampTimes(initrd.path, sde);
    ctx.logger.info(
      `disk: initrd.img ${formatBytes((await stat(initrd.path)).size)} loads ${initrd.modules.join(' ')} (not built into ${version})`,
    );
    if (
      config &&
      initrd.modules.includes('virtio_mmio') &&
      !config.enabled.has('CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES')
    )
      ctx.logger.warn(
        `disk: kernel ${version} lacks CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES: it finds the disks through ACPI ` +
          '(qemu -M microvm, isobuild boot) but not on a VMM that announces them only on the command line (older Firecracker); see docs/microvm.md',
      );
  }

  const image = join(ctx.artifacts, MICROVM_FILES.rootfs[disk]);
  if (disk === 'ext4')
    await makeExt4Image(ctx.run, ctx.rootfs, image, {
      size: inputs.size,
      sourceDateEpoch: sde,
      seed: inputs.seed,
    });
  else
    await makeSquashfsImage(ctx.run, ctx.rootfs, image, squashfsCompression(inputs.compression, config), sde);
  await clampTimes(image, sde);
  ctx.logger.info(`disk: ${MICROVM_FILES.rootfs[disk]} ${formatBytes((await stat(image)).size)}`);

  const configPath = join(ctx.artifacts, MICROVM_FILES.config);
  await rm(configPath, { force: true });
  await writeFile(configPath, JSON.stringify(makeVmConfig(inputs.vm, disk, Boolean(initrd)), null, 2) + '\n');
  await clampTimes(configPath, sde);
}

function diskCommands(inputs: DiskInputs): DeclaredTool[] {
  const { disk } = inputs;
  // Always: extracting vmlinux from the bzImage runs its payload's decompressor.
  const needs: DeclaredTool[] = [...VMLINUX_COMMANDS];
  if (!disk) return needs;
  needs.push(
    { tool: 'depmod', reason: "index the microVM initrd's modules", version: ['--version'] },
    ...compressorCommands(inputs.compression, 'the microVM initrd'),
  );
  if (disk === 'ext4')
    needs.push(
      { tool: 'mkfs.ext4', reason: 'make rootfs.ext4', version: ['-V'] },
      { tool: 'debugfs', reason: "fix rootfs.ext4's inode times", version: ['-V'] },
    );
  else needs.push({ tool: 'mksquashfs', reason: 'make rootfs.squashfs', version: ['-version'] });
  return needs;
}

export const diskStage = defineStage<DiskInputs>({
  name: 'disk',
  // 2: artifacts/vmlinuz, the bzImage, for the kernel target.
  version: 2,
  mutatesRoot: false,
  applies: (plan) => Boolean(plan.microvm),
  inputs: (plan) => {
    const disk = plan.microvm?.disk;
    if (!plan.microvm)
      throw new InternalError(`the disk stage runs only for microVM targets, not ${plan.target}`);
    const size = plan.options.imageSize ?? plan.spec.microvm.size;
    return {
      ...(disk ? { disk } : {}),
      ...(disk === 'ext4' && size !== undefined ? { size } : {}),
      compression: plan.spec.compression,
      vm: { cmdline: plan.spec.cmdline, microvm: plan.spec.microvm, profile: plan.spec.profile },
      seed: `${plan.spec.name}/${plan.flavour}/rootfs.ext4`,
      owners: process.geteuid?.() === 0,
      sourceDateEpoch: plan.options.sourceDateEpoch,
    };
  },
  commands: diskCommands,
  sources: async (inputs) => ({
    files: [new URL('../../templates/microvm/', import.meta.url).pathname],
    facts: { profile: profileContent(inputs.vm.profile) },
  }),
  describe: (inputs) => {
    const { disk } = inputs;
    const lines = [
      "extract bootfs/vmlinuz's payload (its magic says the compression) to artifacts/vmlinux (ELF); copy bootfs/vmlinuz to artifacts/vmlinuz",
    ];
    if (!disk) return lines;
    lines.push(
      'if virtio_mmio, virtio_blk or the root file system are modules: artifacts/initrd.img (busybox + those modules + templates/microvm/initrd.sh.hbs)',
      disk === 'ext4'
        ? `E2FSPROGS_FAKE_TIME=… mkfs.ext4 -U <uuid from the repo> -E hash_seed=… -d <root> artifacts/rootfs.ext4 (${inputs.size ?? 'content + headroom'} bytes); debugfs sets every inode's times`
        : `mksquashfs <root> artifacts/rootfs.squashfs -comp <${inputs.compression}: what the kernel's SQUASHFS_* reads> -reproducible -mkfs-time ${inputs.sourceDateEpoch} -all-time ${inputs.sourceDateEpoch}`,
      'write artifacts/vm-config.json (Firecracker --config-file)',
    );
    return lines;
  },
  run: runDisk,
});
