import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { checkTools } from '../exec/host-tools.js';
import { runInVm } from '../image/run-vm.js';
import { timeoutMs, type VmFlags } from '../image/vm-flags.js';
import { writeEvent } from '../log/events.js';
import { withSession } from '../pipeline/build-session.js';
import { cacheRoot, consoleWriter } from './context.js';
import { addVmOptions, openVm } from './options.js';
import { HOST_BUSYBOX } from '../exec/host-tools.js';

interface RunFlags extends VmFlags {
  rootfs?: string;
  console?: boolean;
}

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description(
      "boot an image with a containerfs disk and run a command in it; exits with the command's status",
    )
    .argument(
      '<image>',
      'an ISO file, a disk image (raw, qcow2, vmdk, vhdx, vpc), a kernel+initrd folder, or a microVM folder (vm-config.json)',
    )
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--rootfs <dir>', 'the container root (default: a busybox root)')
    .option('--console', 'also print the whole console, on stderr');
  addVmOptions(command, { seconds: '300', description: 'give up after this long' }).action(
    async (image: string, argv: string[], flags: RunFlags, cmd: Command) => {
      if (flags.rootfs && !(await stat(flags.rootfs).catch(() => undefined))?.isDirectory())
        throw new UsageError(`--rootfs ${flags.rootfs}: not a folder`);
      const { globals, logger, vm } = await openVm(image, flags, cmd);
      if (vm.target.kind === 'disk' && flags.rootfs)
        throw new UsageError('--rootfs: a disk image runs the command in its own root');
      // A microVM runs the command in its own root: no containerfs disk to make.
      if (vm.target.kind !== 'microvm')
        await checkTools([
          { tool: 'mkfs.ext4', reason: 'make the containerfs disk' },
          { tool: 'debugfs', reason: 'write the command into the containerfs disk' },
          ...(flags.rootfs || vm.target.kind === 'disk'
            ? []
            : [{ tool: HOST_BUSYBOX, reason: 'make the default container root' }]),
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
    },
  );
}
