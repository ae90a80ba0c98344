import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_MEMORY_MB, vmOptionsFrom, type VmFlags } from '../image/vm-flags.js';
import type { Logger } from '../log/logger.js';
import { parseTarget } from '../pipeline/build-options.js';
import { TARGETS } from '../stage/targets.js';
import type { Target } from '../stage/types.js';
import type { StagesRequest } from '../build/stages.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';

/**
 * The option sets several commands share, each declared and parsed here once: a command adds
 * the set and hands its flags back to the set's parser.
 */

/** --lock-timeout: build, export, shell and lock wait for another build of the same repo. */
export function addLockTimeoutOption(cmd: Command): Command {
  return cmd.option(
    '--lock-timeout <seconds>',
    'how long to wait for another build of the same repo',
    '1800',
  );
}

export function parseLockTimeout(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError('--lock-timeout takes seconds');
  return seconds;
}

/** The flags of a command that opens a stage's root (export, shell): the target and the lock wait. */
export interface StageRootFlags {
  target: string;
  lockTimeout: string;
}

export function addStageRootOptions(cmd: Command): Command {
  cmd.option(
    '-t, --target <target>',
    `the target whose stages build the root (${TARGETS.join(', ')})`,
    'bootstrap',
  );
  return addLockTimeoutOption(cmd);
}

/** What export and shell open with: the globals, the logger, and the build library's request for the root. */
export function openStageRoot(
  ref: string,
  flags: StageRootFlags,
  cmd: Command,
): { globals: GlobalOptions; logger: Logger; request: StagesRequest & { target: Target } } {
  const globals = cmd.optsWithGlobals<GlobalOptions>();
  const logger = loggerFor(globals);
  const request = {
    repo: ref,
    reposDir: reposDir(globals),
    target: parseTarget(flags.target),
    lockTimeout: parseLockTimeout(flags.lockTimeout),
    logger,
  };
  return { globals, logger, request };
}

/** The VM options boot and run share; `timeout` is each one's default and meaning of --timeout. */
export function addVmOptions(cmd: Command, timeout: { seconds: string; description: string }): Command {
  return cmd
    .option('--uefi', 'boot under UEFI (OVMF) instead of BIOS')
    .option(
      '--secure-boot [keys]',
      'UEFI with Secure Boot enforced; keys: ms (default), snakeoil, or an OVMF_VARS file',
    )
    .option('--usb', 'attach the ISO as a hard disk, the way a USB stick boots, not as a CD')
    .option(
      '--writable',
      'a disk image: let the guest write into the file (default: its writes go to a temporary overlay and are lost)',
    )
    .option('--timeout <seconds>', timeout.description, timeout.seconds)
    .option('--memory <mb>', `guest memory (default ${DEFAULT_MEMORY_MB}; a microVM folder's mem_size_mib)`)
    .option('--accel <accel>', 'tcg, or kvm where it works', 'tcg')
    .option('--ide', 'attach disks as IDE instead of virtio-blk')
    .option('--append <args>', 'extra kernel arguments (kernel+initrd and microVM folders only)')
    .option('--microvm', 'boot the folder as a microVM (qemu -M microvm) even without vm-config.json');
}

/** What boot and run open with: the globals, the logger, and qemu's options for the image (its tools checked). */
export async function openVm(image: string, flags: VmFlags, cmd: Command) {
  const globals = cmd.optsWithGlobals<GlobalOptions>();
  const logger = loggerFor(globals);
  const vm = await vmOptionsFrom(image, flags);
  return { globals, logger, vm };
}
