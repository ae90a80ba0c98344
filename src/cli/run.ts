import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { checkTools } from '../exec/host-tools.js';
import { runInVm } from '../image/run-vm.js';
import { DEFAULT_MEMORY_MB, timeoutMs, vmOptionsFrom, type VmFlags } from '../image/vm-flags.js';
import { writeEvent } from '../log/events.js';
import { withSession } from '../pipeline/build-session.js';
import { cacheRoot, consoleWriter, loggerFor, type GlobalOptions } from './context.js';
import { HOST_BUSYBOX } from '../exec/host-tools.js';

interface RunFlags extends VmFlags {
  rootfs?: string;
  console?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      "boot an image with a containerfs disk and run a command in it; exits with the command's status",
    )
    .argument('<image>', 'an ISO file, a kernel+initrd folder, or a microVM folder (vm-config.json)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--uefi', 'boot under UEFI (OVMF) instead of BIOS')
    .option(
      '--secure-boot [keys]',
      'UEFI with Secure Boot enforced; keys: ms (default), snakeoil, or an OVMF_VARS file',
    )
    .option('--usb', 'attach the ISO as a hard disk, the way a USB stick boots, not as a CD')
    .option('--rootfs <dir>', 'the container root (default: a busybox root)')
    .option('--timeout <seconds>', 'give up after this long', '300')
    .option('--memory <mb>', `guest memory (default ${DEFAULT_MEMORY_MB}; a microVM folder's mem_size_mib)`)
    .option('--accel <accel>', 'tcg, or kvm where it works', 'tcg')
    .option('--ide', 'attach the disk as IDE instead of virtio-blk')
    .option('--append <args>', 'extra kernel arguments (kernel+initrd folders only)')
    .option('--console', 'also print the whole console, on stderr')
    .option('--microvm', 'boot the folder as a microVM (qemu -M microvm) even without vm-config.json')
    .action(async (image: string, argv: string[], flags: RunFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      if (flags.rootfs && !(await stat(flags.rootfs).catch(() => undefined))?.isDirectory())
        throw new UsageError(`--rootfs ${flags.rootfs}: not a folder`);
      const vm = await vmOptionsFrom(image, flags);
      // A microVM runs the command in its own root: no containerfs disk to make.
      if (vm.target.kind !== 'microvm')
        await checkTools([
          { tool: 'mkfs.ext4', reason: 'make the containerfs disk' },
          { tool: 'debugfs', reason: 'write the command into the containerfs disk' },
          ...(flags.rootfs ? [] : [{ tool: HOST_BUSYBOX, reason: 'make the default container root' }]),
        ]);
      const status = await withSession(cacheRoot(), 'run', logger, () =>
        runInVm({
          vm,
          argv,
          rootfs: flags.rootfs,
          timeoutMs: timeoutMs(flags),
          onOutput: consoleWriter(globals, 'command'),
          onConsole: flags.console ? consoleWriter(globals, 'console', process.stderr) : undefined,
          logger,
        }),
      );
      if (globals.json) writeEvent({ type: 'exit', status });
      process.exitCode = status;
    });
}
