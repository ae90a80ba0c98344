import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { exists } from '../fs/exists.js';
import { ARTIFACTS } from '../image/artifacts.js';
import { composeCmdline } from '../image/cmdline.js';
import {
  COMPRESSORS,
  AUTO_ORDER,
  candidateCompressions,
  compressCommand,
  compressorCommands,
  compressFile,
  pickCompression,
} from '../image/compress.js';
import { makeCpio, type CpioOptions } from '../image/cpio.js';
import { formatBytes } from '../fs/disk-space.js';
import { clampTimes, copyInto, moveFile } from '../image/files.js';
import { profileContent } from '../image/profile.js';
import { readKernelConfig } from '../kernel/kernel-config.js';
import { defineStage, type StageContext } from '../stage/types.js';
import type { CompressionChoice, ResolvedSpec } from '../spec/types.js';

/** The artifacts this stage leaves for the iso stage and the kernel+initrd output. */
export const INITRD_ARTIFACTS = {
  initrd: ARTIFACTS.initrd,
  kernel: ARTIFACTS.kernel,
  cmdline: ARTIFACTS.cmdline,
};

/**
 * Owners as the root has them when we run as root (the package manager set them on purpose);
 * 0:0 otherwise, so a rootless build does not leak the builder's uid into the image.
 */
function ownershipPolicy(): CpioOptions['ownership'] {
  return process.geteuid?.() === 0 ? 'keep' : 'zero';
}

interface InitrdInputs {
  readonly compression: CompressionChoice;
  /** The kernel command line's parts: the profile's and the spec's. */
  readonly boot: Pick<ResolvedSpec, 'cmdline' | 'profile' | 'arch'>;
  readonly ownership: CpioOptions['ownership'];
  readonly sourceDateEpoch: number;
}

async function runInitrd(ctx: StageContext, inputs: InitrdInputs): Promise<void> {
  const sde = inputs.sourceDateEpoch;
  const kernel = join(ctx.bootfs, 'vmlinuz');
  if (!(await exists(kernel)))
    throw new BuildError(
      `no kernel at ${kernel}: iso-base leaves the root's vmlinuz in the boot tree`,
      'initrd',
    );

  // Checked before the cpio is written: an unreadable initrd would only show at boot.
  const config = await readKernelConfig(ctx.bootfs, ctx.meta.kernelVersion);
  const pick = pickCompression(inputs.compression, config, ctx.stage);
  ctx.meta.compression = pick.compression;

  const cpio = join(ctx.tmpDir, 'initrd.cpio');
  const raw = await makeCpio(ctx.rootfs, cpio, { sourceDateEpoch: sde, ownership: inputs.ownership });
  const compressed = await compressFile(ctx.run, pick.compression, cpio);
  const initrd = join(ctx.artifacts, INITRD_ARTIFACTS.initrd);
  // Artifacts are hard links into the cache: replace, never write through.
  await rm(initrd, { force: true });
  await moveFile(compressed, initrd);
  await clampTimes(initrd, sde);

  const vmlinuz = join(ctx.artifacts, INITRD_ARTIFACTS.kernel);
  await copyInto(kernel, vmlinuz);
  await clampTimes(vmlinuz, sde);

  const cmdlineFile = join(ctx.artifacts, INITRD_ARTIFACTS.cmdline);
  await rm(cmdlineFile, { force: true });
  await writeFile(cmdlineFile, composeCmdline(inputs.boot, ctx.meta) + '\n');
  await clampTimes(cmdlineFile, sde);

  const size = (await stat(initrd)).size;
  ctx.logger.info(
    `initrd: ${formatBytes(size)} (${pick.compression}, ${pick.reason}; ${formatBytes(raw)} uncompressed)`,
  );
}

export const initrdStage = defineStage<InitrdInputs>({
  name: 'initrd',
  version: 3,
  mutatesRoot: false,
  applies: () => true,
  inputs: (plan) => ({
    compression: plan.spec.compression,
    boot: { cmdline: plan.spec.cmdline, profile: plan.spec.profile, arch: plan.spec.arch },
    ownership: ownershipPolicy(),
    sourceDateEpoch: plan.options.sourceDateEpoch,
  }),
  // The profile's kernel line goes into artifacts/cmdline.
  sources: async (inputs) => ({ files: [], facts: { profile: profileContent(inputs.boot.profile) } }),
  commands: (inputs) => compressorCommands(inputs.compression, 'the initrd'),
  describe: (inputs) => {
    const choice = inputs.compression;
    const compression = choice === 'auto' ? '$COMPRESSION' : choice;
    const [tool, args] = compressCommand(choice === 'auto' ? AUTO_ORDER[0]! : choice, '$TMP/initrd.cpio');
    return [
      choice === 'auto'
        ? `COMPRESSION=first of ${candidateCompressions(choice).join(', ')} whose CONFIG_RD_* bootfs/config-<version> enables`
        : `check bootfs/config-<version> has ${COMPRESSORS[choice].kernelOption}`,
      `write a newc cpio of the root to $TMP/initrd.cpio (sorted, mtimes clamped to ${inputs.sourceDateEpoch})`,
      choice === 'auto'
        ? `${compression} ...  # e.g. ${[tool, ...args].join(' ')}`
        : [tool, ...args].join(' '),
      `move the compressed $TMP/initrd.cpio to artifacts/initrd.img`,
      'copy bootfs/vmlinuz to artifacts/vmlinuz; write artifacts/cmdline',
    ];
  },
  run: runInitrd,
});
