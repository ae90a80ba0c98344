import { DEFAULT_ARCH } from '../spec/arch.js';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
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
  makeOverlayImage,
  makeRootImage,
  stageEspTree,
  type EspContent,
} from '../image/disk-assemble.js';
import { diskIds, planDisk, type DiskIds, type DiskRoot } from '../image/disk-layout.js';
import { DISK_DRIVERS, ON_DEMAND_DRIVERS, SQUASHFS_ROOT_DRIVERS } from '../image/disk-drivers.js';
import { makeGrubEfi } from '../image/efi.js';
import { makeSquashfsImage, squashfsCompression } from '../image/rootfs-image.js';
import { DEBIAN_SIGNED_CHAIN, SIGNED_DISK_GRUB_CFG } from '../image/secure-boot.js';
import { APT_FETCH_COMMANDS } from '../pm/apt-fetch.js';
import {
  fetchSignedChainFiles,
  signedChainFacts,
  signedChainInputs,
  type SignedChainInputs,
} from './signed-chain.js';
import { RAW_DISK_ARTIFACT } from '../image/disk-write.js';
import { defineStage, type BuildPlan, type StageContext } from '../stage/types.js';
import { dbSigner, signerFacts, type DbSigner } from '../image/secure-boot-keys.js';
import { makeFinalUki, SYSTEMD_STUB } from '../image/uki.js';
import { checkNoUnsignedModules, checkUkiKernel, ukiCommands, ukiOsRelease } from './uki.js';
import type { BootProfileName, CompressionChoice } from '../spec/types.js';
import { VERSION } from '../version.js';

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
  /** disk.root: ext4, or squashfs with an overlay partition. */
  readonly root: DiskRoot;
  readonly sourceDateEpoch: number;
  /** secure_boot "distribution": the ESP's UEFI path is the signed chain, fetched with the repo's package manager. */
  readonly secureBoot?: SignedChainInputs;
  /**
   * spec uki (with boot.uefi): the ESP's UEFI loader is a UKI of this stage's own kernel, initrd
   * and command line, signed with the db key pair when secure_boot is {key, cert}.
   */
  readonly uki?: { readonly signer?: DbSigner; readonly kernelFromSource: boolean };
}

/** The kernel line: the image's own, then where the root is (the initrd finds it by its ids). */
function diskCmdline(inputs: DiskImageInputs, ctx: StageContext, rootArgs: readonly string[]): string {
  return [composeCmdline(inputs.cmdline, ctx.meta), ...rootArgs, 'rw'].join(' ');
}

/**
 * Where the kernel line says the root is. ext4: by its file system UUID (through the initrd), or
 * by GPT GUID when the kernel mounts it alone. squashfs: by GPT name (a squashfs has no UUID),
 * on the disk of the overlay's ext4 UUID.
 */
function rootArgs(root: DiskRoot, ids: DiskIds, hasInitrd: boolean): string[] {
  if (root === 'squashfs')
    return [`root=PARTLABEL=root`, 'rootfstype=squashfs', `isobuild.overlay=UUID=${ids.overlayFs}`];
  return [hasInitrd ? `root=UUID=${ids.rootFs}` : `root=PARTUUID=${ids.root}`, 'rootfstype=ext4'];
}

/** What the UEFI loader boots: the same kernel, initrd and line the disk's GRUB and syslinux do. */
interface DiskBoot {
  readonly kernel: string;
  readonly initrd?: string;
  readonly cmdline: string;
  readonly grubCfg: string;
}

/**
 * The ESP's UEFI loader: a UKI (spec uki), GRUB with the configuration embedded, or the
 * signed chain with it beside. The UKI is made here, not by the uki stage, because its initrd
 * is this stage's (it finds the disk's root by its ids); the uki stage's is the bootstrap's.
 */
async function uefiLoader(
  ctx: StageContext,
  inputs: DiskImageInputs,
  boot: DiskBoot,
): Promise<Pick<EspContent, 'efi' | 'text'>> {
  const { kernel, grubCfg } = boot;
  const work = join(ctx.tmpDir, 'efi');
  await mkdir(work, { recursive: true });
  if (inputs.uki) {
    await checkUkiKernel(kernel, ctx.stage);
    await checkNoUnsignedModules(ctx, inputs.uki);
    const cmdlineFile = join(work, 'cmdline');
    await writeFile(cmdlineFile, `${boot.cmdline}\n`);
    const uki = await makeFinalUki(
      ctx.run,
      {
        osRelease: await ukiOsRelease(ctx, inputs.repo),
        cmdline: cmdlineFile,
        kernel,
        ...(boot.initrd ? { initrd: boot.initrd } : {}),
      },
      work,
      {
        ...(inputs.uki.signer ? { signer: inputs.uki.signer } : {}),
        sourceDateEpoch: inputs.sourceDateEpoch,
        stage: ctx.stage,
      },
    );
    return { efi: { [ESP_PATHS.efiLoader]: uki } };
  }
  if (inputs.secureBoot)
    return {
      efi: await fetchSignedChainFiles(ctx, inputs.secureBoot.pm, kernel, 'disk', work),
      text: { [SIGNED_DISK_GRUB_CFG]: grubCfg },
    };
  return { efi: { [ESP_PATHS.efiLoader]: await makeGrubEfi(ctx.run, grubCfg, work) } };
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
  const squashfs = inputs.root === 'squashfs';

  const config = await readKernelConfig(ctx.bootfs, version);
  const initrd = await makeRootInitrd(ctx, {
    kernelVersion: version,
    drivers: [...DISK_DRIVERS, ...(squashfs ? SQUASHFS_ROOT_DRIVERS : [])],
    onDemand: ON_DEMAND_DRIVERS,
    compression: pickCompression(inputs.compression, config, ctx.stage).compression,
    dest: join(ctx.tmpDir, ESP_PATHS.initrd),
    rootDevice: squashfs ? 'PARTLABEL=root' : `UUID=${ids.rootFs}`,
    ...(squashfs ? { overlayDevice: `UUID=${ids.overlayFs}` } : {}),
    init: '/init',
    runHook: true,
  });
  const cmdline = diskCmdline(inputs, ctx, rootArgs(inputs.root, ids, Boolean(initrd)));

  // The squashfs is made first: its size places the overlay partition.
  const rootImage = join(ctx.tmpDir, squashfs ? 'root.squashfs' : 'root.ext4');
  if (squashfs)
    await makeSquashfsImage(
      ctx.run,
      ctx.rootfs,
      rootImage,
      squashfsCompression(inputs.compression, config),
      sde,
    );
  // Refused before the disk is written: a disk too small for the root names what it needs.
  const { bytes: rootTreeBytes } = await measureTree(ctx.rootfs);
  const bootBytes = (await stat(kernel)).size + (initrd ? (await stat(initrd.path)).size : 0);
  // A UKI holds the kernel and the initrd a second time (syslinux still reads the plain ones).
  const espFileBytes = bootBytes * (uefi && inputs.uki ? 2 : 1) + 4 * 1024 * 1024;
  const layout = planDisk({
    espFileBytes,
    rootTreeBytes,
    ...(squashfs ? { squashfsBytes: (await stat(rootImage)).size } : {}),
    size: inputs.size,
    ids,
  });

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
  const loader = uefi
    ? await uefiLoader(ctx, inputs, {
        kernel,
        ...(initrd ? { initrd: initrd.path } : {}),
        cmdline,
        grubCfg: configs.grub,
      })
    : {};
  await stageEspTree(
    {
      kernel,
      ...(initrd ? { initrd: initrd.path } : {}),
      ...loader,
      text: {
        ...loader.text,
        ...(bios ? { [`${ESP_PATHS.syslinuxDir}/syslinux.cfg`]: configs.syslinux } : {}),
      },
    },
    tree,
    sde,
  );
  const espImage = join(ctx.tmpDir, 'esp.img');
  await makeEspImage(ctx.run, tree, espImage, { layout, ids, bios, sourceDateEpoch: sde });
  if (!squashfs)
    await makeRootImage(ctx.run, ctx.rootfs, rootImage, { layout, seed: inputs.seed, sourceDateEpoch: sde });
  const overlayImage = layout.overlay ? join(ctx.tmpDir, 'overlay.ext4') : undefined;
  if (layout.overlay && overlayImage)
    await makeOverlayImage(ctx.run, join(ctx.tmpDir, 'overlay-tree'), overlayImage, {
      partition: layout.overlay,
      seed: inputs.seed,
      sourceDateEpoch: sde,
    });

  const disk = join(ctx.artifacts, RAW_DISK_ARTIFACT);
  await assembleDisk(ctx.run, disk, {
    layout,
    ids,
    espImage,
    rootImage,
    ...(overlayImage ? { overlayImage } : {}),
    bios,
  });
  for (const f of [espImage, rootImage, overlayImage]) if (f) await rm(f, { force: true });
  await clampTimes(disk, sde);
  const uefiPath = inputs.uki ? (inputs.uki.signer ? 'UEFI UKI, signed' : 'UEFI UKI') : 'UEFI';
  const firmware = [bios && 'BIOS', uefi && (inputs.secureBoot ? 'UEFI Secure Boot' : uefiPath)]
    .filter(Boolean)
    .join(' + ');
  ctx.logger.info(
    `disk-image: ${formatBytes(layout.bytes)} GPT disk (${firmware}): ESP ${formatBytes(layout.esp.bytes)}, ` +
      `root ${inputs.root} ${formatBytes(layout.root.bytes)} for ${formatBytes(rootTreeBytes)} of files` +
      (layout.overlay ? `, overlay ext4 ${formatBytes(layout.overlay.bytes)}` : '') +
      (initrd ? `; its initrd loads ${initrd.modules.join(' ')}` : ''),
  );
}

function diskImageCommands(inputs: DiskImageInputs): DeclaredTool[] {
  const { bios, uefi } = inputs.boot;
  const needs: DeclaredTool[] = [
    { tool: 'depmod', reason: "index the disk initrd's modules", version: ['--version'] },
    ...compressorCommands(inputs.compression, 'the disk initrd'),
    ...(inputs.root === 'squashfs'
      ? ([
          { tool: 'mksquashfs', reason: "make the disk's read-only root", version: ['-version'] },
          { tool: 'mkfs.ext4', reason: "make the disk's overlay partition", version: ['-V'] },
        ] satisfies DeclaredTool[])
      : ([
          { tool: 'mkfs.ext4', reason: "make the disk's root file system", version: ['-V'] },
        ] satisfies DeclaredTool[])),
    { tool: 'debugfs', reason: 'fix the ext4 inode times', version: ['-V'] },
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
  if (uefi && inputs.uki) needs.push(...ukiCommands(inputs.uki));
  else if (uefi && inputs.secureBoot)
    needs.push(
      ...APT_FETCH_COMMANDS,
      { tool: 'dpkg-deb', reason: 'unpack the signed boot chain (secure_boot)', version: 'none' },
      { tool: 'sbverify', reason: 'check the kernel is signed (secure_boot)', version: 'none' },
    );
  else if (uefi)
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

/**
 * The disk's UKI, from the spec at plan time: `uki: true` with boot.uefi. A db key pair
 * without it is refused here, before any stage: the disk's GRUB cannot be signed with it
 * (Debian's GRUB wants shim's protocol), so it would only fail at the firmware.
 */
function diskUki(plan: BuildPlan): DiskImageInputs['uki'] {
  const signer = dbSigner(plan.spec.secureBoot);
  if (!plan.spec.boot.uefi) return undefined;
  if (!plan.spec.uki) {
    if (signer)
      throw new UsageError(
        `${plan.spec.specFile}: secure_boot {key, cert} signs a UKI: set "uki": true for the ${plan.target} disk's UEFI path (its GRUB cannot be signed with your key: Debian's GRUB needs shim under Secure Boot), or use "distribution" (docs/secure-boot.md)`,
      );
    return undefined;
  }
  return { kernelFromSource: plan.spec.kernel.kind === 'build', ...(signer ? { signer } : {}) };
}

export const diskImageStage = defineStage<DiskImageInputs>({
  name: 'disk-image',
  // 2: disk.root squashfs, secure_boot, efivarfs in the initrd. 3: uki.
  version: 3,
  mutatesRoot: false,
  applies: (plan) => Boolean(plan.diskImage),
  inputs: (plan) => {
    const uki = diskUki(plan);
    const chain = signedChainInputs(plan);
    // The ESP's GRUB and the BIOS boot code are x86's (docs/arm64.md).
    if (plan.spec.arch !== DEFAULT_ARCH)
      throw new UsageError(
        `${plan.spec.specFile}: the ${plan.target} target is ${DEFAULT_ARCH} only today (x86 GRUB and syslinux on the disk); build an ISO or a microVM folder for ${plan.spec.arch}`,
      );
    const size = plan.options.imageSize ?? plan.spec.disk?.size;
    return {
      repo: plan.spec.name,
      seed: `${plan.spec.name}/${plan.flavour}/disk`,
      ...(size !== undefined ? { size } : {}),
      boot: plan.spec.boot,
      cmdline: { cmdline: plan.spec.cmdline, profile: plan.spec.profile },
      compression: plan.spec.compression,
      root: plan.spec.disk?.root ?? 'ext4',
      sourceDateEpoch: plan.options.sourceDateEpoch,
      ...(uki ? { uki } : {}),
      ...(chain && !uki ? { secureBoot: chain } : {}),
    };
  },
  commands: diskImageCommands,
  // With a UKI: the stub's bytes are its first part; the pair's public digests name the signature.
  // With the signed chain: its versions, so a new shim or GRUB in the lists makes the disk again.
  sources: async (inputs, where) => ({
    files: [
      BOOT_TEMPLATES,
      new URL('../../templates/microvm/', import.meta.url).pathname,
      ...(inputs.uki ? [SYSTEMD_STUB] : []),
    ],
    facts: {
      profile: profileContent(inputs.cmdline.profile),
      ...(inputs.uki?.signer ? { signer: await signerFacts(inputs.uki.signer) } : {}),
      ...(inputs.secureBoot ? { signedChain: await signedChainFacts(inputs.secureBoot, where) } : {}),
    },
  }),
  describe: (inputs) => {
    const { bios, uefi } = inputs.boot;
    const squashfs = inputs.root === 'squashfs';
    const drivers = [...DISK_DRIVERS, ...(squashfs ? SQUASHFS_ROOT_DRIVERS : [])];
    const size = `${inputs.size ?? 'content + headroom'} bytes of disk in all`;
    return [
      `initrd: busybox + the modules of ${drivers.join(' ')} (and ${ON_DEMAND_DRIVERS.join(' ')}, loaded on demand) the kernel has (templates/microvm/initrd.sh.hbs), ` +
        (squashfs
          ? 'root=PARTLABEL=root (squashfs, read-only) under isobuild.overlay=UUID=<from the repo> (ext4 upper/ and work/)'
          : 'root=UUID=<from the repo>'),
      `ESP (FAT, mkfs.vfat --invariant, mcopy -m): vmlinuz, initrd.img` +
        (uefi && inputs.secureBoot
          ? `, apt-get download ${DEBIAN_SIGNED_CHAIN.packages.join(' ')} (into the package cache); dpkg-deb -x; sbverify --list vmlinuz; shim as EFI/BOOT/BOOTX64.EFI, signed GRUB (grubx64) as EFI/BOOT/grubx64.efi, ${SIGNED_DISK_GRUB_CFG} (templates/boot/disk-grub.cfg.hbs)`
          : '') +
        (uefi && inputs.uki
          ? `, EFI/BOOT/BOOTX64.EFI: a UKI (objcopy --add-section .osrel .cmdline .linux .initrd onto ${SYSTEMD_STUB}, PE time ${inputs.sourceDateEpoch}` +
            (inputs.uki.signer
              ? `; osslsigncode sign -key ${inputs.uki.signer.key} -certs ${inputs.uki.signer.cert} -h sha256 -time ${inputs.sourceDateEpoch}; sbverify --cert ${inputs.uki.signer.cert})`
              : ')')
          : '') +
        (uefi && !inputs.secureBoot && !inputs.uki
          ? ', EFI/BOOT/BOOTX64.EFI (grub-mkimage --config=templates/boot/disk-grub.cfg.hbs)'
          : '') +
        (bios ? ', syslinux/syslinux.cfg; syslinux --install --directory /syslinux esp.img' : ''),
      squashfs
        ? `mksquashfs <root> root.squashfs -comp <${inputs.compression}: what the kernel's SQUASHFS_* reads> -reproducible -mkfs-time ${inputs.sourceDateEpoch} -all-time ${inputs.sourceDateEpoch} (the root partition, its size); E2FSPROGS_FAKE_TIME=… mkfs.ext4 -U <uuid from the repo> overlay.ext4 (the rest: ${size})`
        : `E2FSPROGS_FAKE_TIME=… mkfs.ext4 -U <uuid from the repo> -d <root> root.ext4 (the root partition: ${size})`,
      `sfdisk disk.raw (GPT: esp [LegacyBIOSBootable], root${squashfs ? ', overlay' : ''}; GUIDs from the repo)` +
        (bios ? `; dd if=${GPTMBR_BIN} of=disk.raw bs=440 count=1 conv=notrunc` : ''),
      `dd if=esp.img / root.${squashfs ? 'squashfs / overlay.ext4' : 'ext4'} of=artifacts/disk.raw seek=<partition offset> conv=notrunc,sparse`,
    ];
  },
  run: runDiskImage,
});
