import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError, UsageError } from '../errors.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import { exists } from '../fs/exists.js';
import { formatBytes } from '../fs/disk-space.js';
import { measureTree } from '../fs/measure-tree.js';
import { GPTMBR_BIN, GRUB_EFI_MODDEP } from '../image/boot-assets.js';
import { BOOT_TEMPLATES, renderDiskBootConfigs } from '../image/boot-config.js';
import { composeCmdline } from '../image/cmdline.js';
import { compressorCommands, pickCompression } from '../image/compress.js';
import { clampTimes } from '../image/files.js';
import { bootProfile, profileContent } from '../image/profile.js';
import { readKernelConfig } from '../kernel/kernel-config.js';
import { makeRootInitrd } from '../microvm/initrd.js';
import {
  assembleDisk,
  ESP_PATHS,
  fatUuid,
  makeEspImage,
  makeRootImage,
  stageEspTree,
} from '../image/disk-assemble.js';
import { diskIds, planDisk } from '../image/disk-layout.js';
import { RAW_DISK_ARTIFACT } from '../image/disk-write.js';
import { defineStage, type StageContext } from '../stage/types.js';
import type { BootProfileName, CompressionChoice } from '../spec/types.js';
import { VERSION } from '../version.js';

/**
 * Drivers a disk's initrd loads before it looks for the root, whichever hypervisor attaches the
 * disk: virtio (KVM, Proxmox), SATA/IDE (qemu's defaults, VirtualBox), VMware's PVSCSI and
 * LSI, Hyper-V's storvsc, Xen, NVMe; then ext4. Those the kernel lacks are left out, those it
 * has built in need nothing.
 */
export const DISK_DRIVERS = [
  'virtio_pci',
  'virtio_blk',
  'virtio_scsi',
  'ahci',
  'ata_piix',
  'sd_mod',
  'nvme',
  'vmw_pvscsi',
  'mptspi',
  'hv_storvsc',
  'xen_blkfront',
  'ext4',
] as const;

interface DiskImageInputs {
  readonly repo: string;
  /** Seeds the disk's, partitions' and file systems' ids, so each repo and flavour has its own. */
  readonly seed: string;
  /** The whole disk in bytes (--size, IMG_SIZE, disk.size); else the content plus headroom. */
  readonly size?: number;
  readonly boot: { readonly bios: boolean; readonly uefi: boolean };
  /** The kernel command line's parts: the profile's and the spec's. */
  readonly cmdline: { readonly cmdline: string; readonly profile: BootProfileName };
  readonly compression: CompressionChoice;
  readonly sourceDateEpoch: number;
}

/** The kernel line: the image's own, then where the root is (the initrd finds it by UUID). */
function diskCmdline(inputs: DiskImageInputs, ctx: StageContext, rootArg: string): string {
  return [composeCmdline(inputs.cmdline, ctx.meta), rootArg, 'rootfstype=ext4', 'rw'].join(' ');
}

async function runDiskImage(ctx: StageContext, inputs: DiskImageInputs): Promise<void> {
  const { bios, uefi } = inputs.boot;
  if (!bios && !uefi)
    throw new BuildError('spec.boot turns off both BIOS and UEFI: nothing could boot the disk');
  const sde = inputs.sourceDateEpoch;
  const version = ctx.meta.kernelVersion;
  if (!version) throw new BuildError('no kernel version recorded by iso-base/drivers');
  const kernel = join(ctx.bootfs, 'vmlinuz');
  if (!(await exists(kernel)))
    throw new BuildError(`no kernel at ${kernel}: iso-base leaves the root's vmlinuz in the boot tree`);
  const ids = diskIds(inputs.seed);

  const config = await readKernelConfig(ctx.bootfs, version);
  const initrd = await makeRootInitrd(ctx, {
    kernelVersion: version,
    drivers: DISK_DRIVERS,
    compression: pickCompression(inputs.compression, config, ctx.stage).compression,
    dest: join(ctx.tmpDir, ESP_PATHS.initrd),
    rootDevice: `UUID=${ids.rootFs}`,
    init: '/init',
    runHook: true,
  });
  // Without an initrd the kernel mounts the root itself, and it knows partitions by GPT GUID only.
  const rootArg = initrd ? `root=UUID=${ids.rootFs}` : `root=PARTUUID=${ids.root}`;
  const cmdline = diskCmdline(inputs, ctx, rootArg);

  // Refused before any image is written: a disk too small for the root names what it needs.
  const { bytes: rootTreeBytes } = await measureTree(ctx.rootfs);
  const espFileBytes =
    (await stat(kernel)).size + (initrd ? (await stat(initrd.path)).size : 0) + 4 * 1024 * 1024;
  const layout = planDisk({ espFileBytes, rootTreeBytes, size: inputs.size, ids });

  const profile = bootProfile(inputs.cmdline);
  const configs = await renderDiskBootConfigs({
    version: VERSION,
    repo: inputs.repo,
    volid: '',
    cmdline,
    serialPort: profile.logSerial,
    kernel: ESP_PATHS.kernel,
    initrd: initrd ? ESP_PATHS.initrd : '',
    espUuid: fatUuid(ids.espVolumeId),
  });
  const tree = join(ctx.tmpDir, 'esp-tree');
  await stageEspTree(
    ctx.run,
    {
      kernel,
      ...(initrd ? { initrd: initrd.path } : {}),
      ...(uefi ? { grubCfg: configs.grub } : {}),
      ...(bios ? { syslinuxCfg: configs.syslinux } : {}),
    },
    tree,
    ctx.tmpDir,
    sde,
  );
  const espImage = join(ctx.tmpDir, 'esp.img');
  await makeEspImage(ctx.run, tree, espImage, { layout, ids, bios, sourceDateEpoch: sde });
  const rootImage = join(ctx.tmpDir, 'root.ext4');
  await makeRootImage(ctx.run, ctx.rootfs, rootImage, { layout, seed: inputs.seed, sourceDateEpoch: sde });

  const disk = join(ctx.artifacts, RAW_DISK_ARTIFACT);
  await assembleDisk(ctx.run, disk, { layout, ids, espImage, rootImage, bios });
  await rm(espImage, { force: true });
  await rm(rootImage, { force: true });
  await clampTimes(disk, sde);
  const firmware = [bios && 'BIOS', uefi && 'UEFI'].filter(Boolean).join(' + ');
  ctx.logger.info(
    `disk-image: ${formatBytes(layout.bytes)} GPT disk (${firmware}): ESP ${formatBytes(layout.esp.bytes)}, ` +
      `root ext4 ${formatBytes(layout.root.bytes)} for ${formatBytes(rootTreeBytes)} of files` +
      (initrd ? `; its initrd loads ${initrd.modules.join(' ')}` : ''),
  );
}

function diskImageCommands(inputs: DiskImageInputs): DeclaredTool[] {
  const { bios, uefi } = inputs.boot;
  const needs: DeclaredTool[] = [
    { tool: 'depmod', reason: "index the disk initrd's modules", version: ['--version'] },
    ...compressorCommands(inputs.compression, 'the disk initrd'),
    { tool: 'mkfs.ext4', reason: "make the disk's root file system", version: ['-V'] },
    { tool: 'debugfs', reason: "fix the root file system's inode times", version: ['-V'] },
    // --help: mkfs.fat has no --version; its help starts with the version line.
    { tool: 'mkfs.vfat', reason: 'make the EFI system partition', version: ['--help'] },
    {
      tool: 'mcopy',
      reason: 'copy the kernel and loaders into the EFI system partition',
      version: ['--version'],
    },
    { tool: 'sfdisk', reason: 'write the GPT partition table', version: ['--version'] },
    { tool: 'dd', reason: 'copy the file systems into the disk at their partitions', version: 'none' },
  ];
  if (bios)
    needs.push(
      {
        tool: 'syslinux',
        reason: 'install the BIOS loader into the EFI system partition',
        version: ['--version'],
      },
      { tool: GPTMBR_BIN, reason: "boot the disk under BIOS (syslinux's GPT MBR)", version: 'none' },
    );
  if (uefi)
    needs.push(
      { tool: 'grub-mkimage', reason: 'make the UEFI boot loader (BOOTX64.EFI)', version: ['--version'] },
      {
        tool: GRUB_EFI_MODDEP,
        reason: 'make the UEFI boot loader (GRUB x86_64-efi modules)',
        version: 'none',
      },
    );
  return needs;
}

export const diskImageStage = defineStage<DiskImageInputs>({
  name: 'disk-image',
  version: 1,
  mutatesRoot: false,
  applies: (plan) => Boolean(plan.diskImage),
  inputs: (plan) => {
    // At plan time: a disk whose ESP holds an unsigned GRUB would only fail at the firmware.
    if (plan.spec.secureBoot && plan.spec.boot.uefi)
      throw new UsageError(
        `${plan.spec.specFile}: secure_boot: the ${plan.target} disk's ESP is not signed yet (an unsigned GRUB); build an ISO (with "uki": true for a key) or --target uki (docs/secure-boot.md)`,
      );
    const size = plan.options.imageSize ?? plan.spec.disk?.size;
    return {
      repo: plan.spec.name,
      seed: `${plan.spec.name}/${plan.flavour}/disk`,
      ...(size !== undefined ? { size } : {}),
      boot: plan.spec.boot,
      cmdline: { cmdline: plan.spec.cmdline, profile: plan.spec.profile },
      compression: plan.spec.compression,
      sourceDateEpoch: plan.options.sourceDateEpoch,
    };
  },
  commands: diskImageCommands,
  sources: async (inputs) => ({
    files: [BOOT_TEMPLATES, new URL('../../templates/microvm/', import.meta.url).pathname],
    facts: { profile: profileContent(inputs.cmdline.profile) },
  }),
  describe: (inputs) => {
    const { bios, uefi } = inputs.boot;
    return [
      `initrd: busybox + the modules of ${DISK_DRIVERS.join(' ')} the kernel has (templates/microvm/initrd.sh.hbs), root=UUID=<from the repo>`,
      `ESP (FAT, mkfs.vfat --invariant, mcopy -m): vmlinuz, initrd.img` +
        (uefi ? ', EFI/BOOT/BOOTX64.EFI (grub-mkimage --config=templates/boot/disk-grub.cfg.hbs)' : '') +
        (bios ? ', syslinux/syslinux.cfg; syslinux --install --directory /syslinux esp.img' : ''),
      `E2FSPROGS_FAKE_TIME=… mkfs.ext4 -U <uuid from the repo> -d <root> root.ext4 (the root partition: ${inputs.size ?? 'content + headroom'} bytes of disk in all)`,
      'sfdisk disk.raw (GPT: esp [LegacyBIOSBootable], root; GUIDs from the repo)' +
        (bios ? `; dd if=${GPTMBR_BIN} of=disk.raw bs=440 count=1 conv=notrunc` : ''),
      'dd if=esp.img / root.ext4 of=artifacts/disk.raw seek=<partition offset> conv=notrunc,sparse',
    ];
  },
  run: runDiskImage,
});
