import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { exists } from '../fs/exists.js';
import { ARTIFACTS } from '../image/artifacts.js';
import { composeCmdline } from '../image/cmdline.js';
import { COMPRESSORS, compressCommand, compressFile } from '../image/compress.js';
import { makeCpio, type CpioOptions } from '../image/cpio.js';
import { clampTimes, copyInto, formatBytes, moveFile } from '../image/files.js';
import { readToolVersion } from '../exec/tool-version.js';
import type { Stage, StageContext } from '../pipeline/types.js';

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

async function runInitrd(ctx: StageContext): Promise<void> {
  const sde = ctx.plan.options.sourceDateEpoch;
  const kernel = join(ctx.bootfs, 'vmlinuz');
  if (!(await exists(kernel)))
    throw new BuildError(
      `no kernel at ${kernel}: iso-base leaves the root's vmlinuz in the boot tree`,
      'initrd',
    );

  const cpio = join(ctx.tmpDir, 'initrd.cpio');
  const raw = await makeCpio(ctx.rootfs, cpio, { sourceDateEpoch: sde, ownership: ownershipPolicy() });
  const compressed = await compressFile(ctx.run, ctx.spec.compression, cpio);
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
  await writeFile(cmdlineFile, composeCmdline(ctx.spec, ctx.meta) + '\n');
  await clampTimes(cmdlineFile, sde);

  const size = (await stat(initrd)).size;
  ctx.logger.info(`initrd: ${formatBytes(size)} (${ctx.spec.compression}; ${formatBytes(raw)} uncompressed)`);
}

export const initrdStage: Stage = {
  name: 'initrd',
  version: 1,
  mutatesRoot: false,
  applies: () => true,
  tools: (plan) => [
    {
      tool: COMPRESSORS[plan.spec.compression].tool,
      reason: `compress the initrd (${plan.spec.compression})`,
    },
  ],
  cacheInputs: async (plan) => ({
    values: {
      compression: plan.spec.compression,
      cmdline: plan.spec.cmdline,
      ownership: ownershipPolicy(),
    },
    files: [],
    toolVersions: [await readToolVersion(COMPRESSORS[plan.spec.compression].tool)],
  }),
  describe: (plan) => {
    const [tool, args] = compressCommand(plan.spec.compression, '$TMP/initrd.cpio');
    return [
      `write a newc cpio of the root to $TMP/initrd.cpio (sorted, mtimes clamped to ${plan.options.sourceDateEpoch})`,
      [tool, ...args].join(' '),
      `move $TMP/initrd.cpio${COMPRESSORS[plan.spec.compression].suffix} to artifacts/initrd.img`,
      'copy bootfs/vmlinuz to artifacts/vmlinuz; write artifacts/cmdline',
    ];
  },
  run: runInitrd,
};
