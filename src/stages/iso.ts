import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BuildError, UsageError } from '../errors.js';
import { exists } from '../fs/exists.js';
import { ARTIFACTS } from '../image/artifacts.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import { GRUB_EFI_MODDEP, ISOHDPFX_BIN, ISOLINUX_BIN, LDLINUX_C32 } from '../image/boot-assets.js';
import { BOOT_TEMPLATES, renderGrubCfg, renderIsolinuxCfg } from '../image/boot-config.js';
import { HOST_GRUB_EFI, makeEfiImage, makeGrubEfi } from '../image/efi.js';
import { ARCHES, DEFAULT_ARCH } from '../spec/arch.js';
import { TARGET_PACKAGE_COMMANDS, targetGrub } from './target-packages.js';
import { DEBIAN_SIGNED_CHAIN, DISK_INFO } from '../image/secure-boot.js';
import {
  makeSignedChainEsp,
  signedChainFacts,
  signedChainInputs,
  type SignedChainInputs,
} from './signed-chain.js';
import { dbSigner } from '../image/secure-boot-keys.js';
import { UKI_ARTIFACT, wantsUki } from './uki.js';
import { APT_FETCH_COMMANDS } from '../pm/apt-fetch.js';
import { pmSpecOf } from '../pm/pm-context.js';
import type { PmSpec } from '../pm/types.js';
import { formatBytes } from '../fs/disk-space.js';
import { clampTimes, moveFile } from '../image/files.js';
import { writePvdPublisher, xorrisoArgs, xorrisoEpoch, type IsoLayout } from '../image/iso.js';
import { bootProfile, imageVersion, profileContent } from '../image/profile.js';
import { volumeIdentity } from '../image/volume.js';
import { defineStage, type BuildPlan, type StageContext } from '../stage/types.js';
import type { BootProfileName } from '../spec/types.js';
import type { VolumeIdentity } from '../image/volume.js';
import { VERSION } from '../version.js';
import { INITRD_ARTIFACTS } from './initrd.js';
import { quoteCommand } from '../exec/shell-quote.js';

export const ISO_ARTIFACT = ARTIFACTS.iso;
const ISOLINUX_DIR = 'boot/isolinux';

interface IsoInputs {
  readonly repo: string;
  readonly boot: { readonly bios: boolean; readonly uefi: boolean };
  readonly profile: BootProfileName;
  /** The ISO's volume id (isobuild's version) and publisher (the image's version, the profile's form). */
  readonly identity: VolumeIdentity;
  readonly sourceDateEpoch: number;
  /** The removable-media path the firmware starts (EFI/BOOT/BOOTX64.EFI, BOOTAA64.EFI). */
  readonly efiBootFile: string;
  /** Another architecture's build: GRUB's modules come from the repo's packages (targetGrub). */
  readonly cross?: PmSpec;
  /** secure_boot "distribution": the signed chain, fetched with the repo's package manager. */
  readonly secureBoot?: SignedChainInputs;
  /** spec uki: the EFI path is the uki stage's UKI (artifacts/uki.efi) instead of GRUB. */
  readonly uki?: true;
}

function isoIdentity(plan: BuildPlan): VolumeIdentity {
  return volumeIdentity(plan.spec.name, VERSION, bootProfile(plan.spec), imageVersion(plan.spec));
}

function firmware(inputs: IsoInputs): { bios: boolean; uefi: boolean } {
  const { bios, uefi } = inputs.boot;
  if (!bios && !uefi)
    throw new BuildError('spec.boot turns off both BIOS and UEFI: nothing could boot the ISO', 'iso');
  return { bios, uefi };
}

async function readArtifacts(
  ctx: StageContext,
): Promise<{ kernel: string; initrd: string; cmdline: string }> {
  const kernel = join(ctx.artifacts, INITRD_ARTIFACTS.kernel);
  const initrd = join(ctx.artifacts, INITRD_ARTIFACTS.initrd);
  const cmdlineFile = join(ctx.artifacts, INITRD_ARTIFACTS.cmdline);
  for (const f of [kernel, initrd, cmdlineFile])
    if (!(await exists(f))) throw new BuildError(`${f} is missing: the initrd stage writes it`, 'iso');
  return { kernel, initrd, cmdline: (await readFile(cmdlineFile, 'utf8')).trim() };
}

/** Writes a small file into the ISO tree with a clamped date, and records it in the layout. */
async function stageFile(
  ctx: StageContext,
  tree: string,
  files: Record<string, string>,
  inIso: string,
  content: string | { copyOf: string },
): Promise<void> {
  const path = join(tree, inIso);
  await mkdir(dirname(path), { recursive: true });
  if (typeof content === 'string') await writeFile(path, content);
  else await copyFile(content.copyOf, path);
  await clampTimes(path, ctx.sourceDateEpoch);
  files[inIso] = path;
}

async function readUki(ctx: StageContext): Promise<string> {
  const uki = join(ctx.artifacts, UKI_ARTIFACT);
  if (!(await exists(uki))) throw new BuildError(`${uki} is missing: the uki stage writes it`, ctx.stage);
  return uki;
}

async function runIso(ctx: StageContext, inputs: IsoInputs): Promise<void> {
  const { bios, uefi } = firmware(inputs);
  const sde = inputs.sourceDateEpoch;
  const { kernel, initrd, cmdline } = await readArtifacts(ctx);
  const profile = bootProfile(inputs);
  const { identity } = inputs;
  const values = {
    version: VERSION,
    repo: inputs.repo,
    volid: identity.volid,
    cmdline,
    serialPort: profile.logSerial,
    kernel: profile.isoKernel,
    initrd: profile.isoInitrd,
    bootMsg: profile.bootMsg !== undefined,
  };

  const tree = join(ctx.tmpDir, 'iso-tree');
  const files: Record<string, string> = { [profile.isoKernel]: kernel, [profile.isoInitrd]: initrd };
  const layout: IsoLayout = { output: join(ctx.tmpDir, ISO_ARTIFACT), identity, sourceDateEpoch: sde, files };
  if (bios) {
    await stageFile(ctx, tree, files, `${ISOLINUX_DIR}/isolinux.bin`, { copyOf: ISOLINUX_BIN });
    await stageFile(ctx, tree, files, `${ISOLINUX_DIR}/ldlinux.c32`, { copyOf: LDLINUX_C32 });
    if (profile.bootMsg !== undefined)
      await stageFile(ctx, tree, files, `${ISOLINUX_DIR}/boot.msg`, profile.bootMsg);
    await stageFile(ctx, tree, files, `${ISOLINUX_DIR}/isolinux.cfg`, await renderIsolinuxCfg(values));
    layout.bios = { isolinuxDir: ISOLINUX_DIR, mbr: ISOHDPFX_BIN };
  }
  if (uefi) {
    const grubCfg = await renderGrubCfg(values);
    // Unsigned: the embedded copy is what boots; this one is for people reading the ISO.
    // Signed: the distribution's GRUB finds the medium by /.disk/info and reads this one.
    await stageFile(ctx, tree, files, 'boot/grub/grub.cfg', grubCfg);
    const efiWork = join(ctx.tmpDir, 'efi');
    await mkdir(efiWork);
    if (inputs.uki) {
      layout.efiImage = await makeEfiImage(ctx.run, await readUki(ctx), efiWork, sde);
    } else if (inputs.secureBoot) {
      await stageFile(ctx, tree, files, DISK_INFO, `${identity.volid}\n`);
      layout.efiImage = await makeSignedChainEsp(ctx, inputs.secureBoot.pm, kernel, 'cd', efiWork);
    } else {
      const grub = inputs.cross ? await targetGrub(ctx, inputs.cross) : HOST_GRUB_EFI;
      const loader = await makeGrubEfi(ctx.run, grubCfg, efiWork, grub);
      layout.efiImage = await makeEfiImage(ctx.run, loader, efiWork, sde, inputs.efiBootFile);
    }
  }

  await ctx.run('xorriso', xorrisoArgs(layout), { env: { SOURCE_DATE_EPOCH: String(xorrisoEpoch(sde)) } });
  if (profile.verbatimPublisher) await writePvdPublisher(layout.output, identity.publisher);
  const iso = join(ctx.artifacts, ISO_ARTIFACT);
  await rm(iso, { force: true }); // a hard link into the cache, if a parent left one: replace it
  await moveFile(layout.output, iso);
  await clampTimes(iso, sde);
  const efiPath = inputs.uki ? 'UEFI UKI' : 'UEFI';
  const signed = inputs.secureBoot ? ' Secure Boot' : '';
  const firmwareNames = [bios && 'BIOS', uefi && efiPath + signed].filter(Boolean).join(' + ');
  ctx.logger.info(`iso: ${formatBytes((await stat(iso)).size)} (${firmwareNames}; volume ${identity.volid})`);
}

/**
 * Whether the ISO's EFI path is the uki stage's UKI. A db key without it is refused here, at
 * plan time: the only GRUB there is to sign, Debian's grub-efi, insists on shim's protocol
 * under Secure Boot ("error: shim_lock protocol not found." on the console, then its prompt),
 * and shim would take the key as a MOK, not from db.
 */
/** The EFI path's inputs: the UKI (which goes first), the signed chain (secure_boot "distribution"). */
function isoSecureBoot(plan: BuildPlan): Pick<IsoInputs, 'uki' | 'secureBoot'> {
  const chain = signedChainInputs(plan);
  return { ...(chain ? { secureBoot: chain } : {}), ...isoEfiPath(plan) };
}

function isoEfiPath(plan: BuildPlan): Pick<IsoInputs, 'uki'> {
  if (!plan.spec.boot.uefi) return {};
  if (wantsUki(plan)) return { uki: true };
  if (dbSigner(plan.spec.secureBoot))
    throw new UsageError(
      `${plan.spec.specFile}: secure_boot {key, cert} signs a UKI: set "uki": true for the ${plan.target} ISO's UEFI path (a GRUB signed with your key would not start the kernel: Debian's GRUB needs shim under Secure Boot), or build --target uki`,
    );
  return {};
}

function isoCommands(inputs: IsoInputs): DeclaredTool[] {
  const { bios, uefi } = inputs.boot;
  const needs: DeclaredTool[] = [{ tool: 'xorriso', reason: 'master the ISO', version: ['-version'] }];
  if (bios)
    needs.push(
      { tool: ISOLINUX_BIN, reason: 'boot the ISO under BIOS', version: 'none' },
      { tool: LDLINUX_C32, reason: 'boot the ISO under BIOS', version: 'none' },
      {
        tool: ISOHDPFX_BIN,
        reason: 'make the ISO bootable from a USB stick (isohybrid MBR)',
        version: 'none',
      },
    );
  if (uefi && inputs.uki)
    needs.push(
      { tool: 'mkfs.vfat', reason: 'make the EFI boot partition image', version: ['--help'] },
      { tool: 'mcopy', reason: 'copy the UKI into the EFI partition image', version: ['--version'] },
    );
  else if (uefi && inputs.secureBoot)
    needs.push(
      ...APT_FETCH_COMMANDS,
      { tool: 'dpkg-deb', reason: 'unpack the signed boot chain (secure_boot)', version: 'none' },
      { tool: 'sbverify', reason: 'check the kernel is signed (secure_boot)', version: 'none' },
      { tool: 'mkfs.vfat', reason: 'make the EFI boot partition image', version: ['--help'] },
      {
        tool: 'mcopy',
        reason: 'copy the signed boot chain into the EFI partition image',
        version: ['--version'],
      },
    );
  else if (uefi)
    needs.push(
      {
        tool: 'grub-mkimage',
        reason: `make the UEFI boot loader (${basename(inputs.efiBootFile)})`,
        version: ['--version'],
      },
      ...(inputs.cross
        ? TARGET_PACKAGE_COMMANDS
        : [
            {
              tool: GRUB_EFI_MODDEP,
              reason: 'make the UEFI boot loader (GRUB x86_64-efi modules)',
              version: 'none',
            } satisfies DeclaredTool,
          ]),
      // --help: mkfs.fat has no --version; its help starts with the version line.
      { tool: 'mkfs.vfat', reason: 'make the EFI boot partition image', version: ['--help'] },
      {
        tool: 'mcopy',
        reason: 'copy the UEFI boot loader into the EFI partition image',
        version: ['--version'],
      },
    );
  return needs;
}

export const isoStage = defineStage<IsoInputs>({
  name: 'iso',
  version: 2,
  mutatesRoot: false,
  applies: () => true,
  inputs: (plan) => ({
    repo: plan.spec.name,
    boot: plan.spec.boot,
    profile: plan.spec.profile,
    identity: isoIdentity(plan),
    sourceDateEpoch: plan.options.sourceDateEpoch,
    efiBootFile: ARCHES[plan.spec.arch].efiBootFile,
    ...(plan.spec.arch === DEFAULT_ARCH ? {} : { cross: pmSpecOf(plan.spec) }),
    ...isoSecureBoot(plan),
  }),
  commands: isoCommands,
  // The signed chain's versions: a new shim or GRUB in the lists makes the ISO again.
  sources: async (inputs, where) => ({
    files: [BOOT_TEMPLATES],
    facts: {
      profile: profileContent(inputs.profile),
      ...(inputs.secureBoot && !inputs.uki
        ? { signedChain: await signedChainFacts(inputs.secureBoot, where) }
        : {}),
    },
  }),
  describe: (inputs) => {
    const { bios, uefi } = inputs.boot;
    const { identity } = inputs;
    const profile = bootProfile(inputs);
    const lines: string[] = [];
    if (bios) lines.push(`render ${ISOLINUX_DIR}/isolinux.cfg; copy isolinux.bin and ldlinux.c32`);
    if (uefi && inputs.uki)
      lines.push(
        `mkfs.vfat --invariant efiboot.img; mcopy artifacts/${UKI_ARTIFACT} as EFI/BOOT/BOOTX64.EFI`,
      );
    else if (uefi && inputs.secureBoot)
      lines.push(
        `render boot/grub/grub.cfg and ${DISK_INFO} (signed GRUB finds the medium by it)`,
        `apt-get download ${DEBIAN_SIGNED_CHAIN.packages.join(' ')} (into the package cache); dpkg-deb -x`,
        'sbverify --list artifacts/vmlinuz (the kernel must be signed)',
        'mkfs.vfat --invariant efiboot.img; mcopy shim as EFI/BOOT/BOOTX64.EFI, signed GRUB (gcdx64) as EFI/BOOT/grubx64.efi',
      );
    else if (uefi)
      lines.push(
        `render grub.cfg; grub-mkimage --format=${inputs.cross ? ARCHES[inputs.cross.arch].grubFormat : 'x86_64-efi'} --config=grub.cfg ... (${basename(inputs.efiBootFile)})`,
        ...(inputs.cross
          ? [
              `apt-get download ${ARCHES[inputs.cross.arch].grubPackage} (into the package cache); dpkg-deb -x`,
            ]
          : []),
        'mkfs.vfat --invariant efiboot.img; mcopy -s -m -i efiboot.img EFI ::/',
      );
    lines.push(
      'xorriso ' +
        quoteCommand(
          xorrisoArgs({
            output: '$TMP/image.iso',
            identity,
            sourceDateEpoch: inputs.sourceDateEpoch,
            files: {
              [profile.isoKernel]: 'artifacts/vmlinuz',
              [profile.isoInitrd]: 'artifacts/initrd.img',
              ...(bios
                ? Object.fromEntries(
                    [
                      'isolinux.bin',
                      'ldlinux.c32',
                      'isolinux.cfg',
                      ...(profile.bootMsg !== undefined ? ['boot.msg'] : []),
                    ].map((f) => [`${ISOLINUX_DIR}/${f}`, `$TMP/iso-tree/${ISOLINUX_DIR}/${f}`]),
                  )
                : {}),
              ...(uefi ? { 'boot/grub/grub.cfg': '$TMP/iso-tree/boot/grub/grub.cfg' } : {}),
            },
            bios: bios ? { isolinuxDir: ISOLINUX_DIR, mbr: ISOHDPFX_BIN } : undefined,
            efiImage: uefi ? '$TMP/efiboot.img' : undefined,
          }),
          { keepVariables: true },
        ),
    );
    return lines;
  },
  run: runIso,
});
