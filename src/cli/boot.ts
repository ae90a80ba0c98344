import type { Command } from 'commander';
import { CommandError, UsageError } from '../errors.js';
import { indent, run, tail } from '../exec/run.js';
import { bootVm, interactiveQemuArgs, qemuBinary, withOvmfVars, type VmOptions } from '../image/qemu.js';
import { timeoutMs, type VmFlags } from '../image/vm-flags.js';
import type { Logger } from '../log/logger.js';
import { withSession } from '../pipeline/build-session.js';
import { cacheRoot, consoleWriter, type GlobalOptions } from './context.js';
import { addVmOptions, openVm } from './options.js';

interface BootFlags extends VmFlags {
  disk: string[];
  expect: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

function compileExpectations(sources: readonly string[]): RegExp[] {
  return sources.map((s) => {
    try {
      return new RegExp(s);
    } catch (err) {
      throw new UsageError(`--expect ${s}: ${(err as Error).message}`);
    }
  });
}

export function registerBoot(program: Command): void {
  const command = program
    .command('boot')
    .description(
      'boot an ISO, a disk image, a kernel+initrd folder or a microVM folder in qemu with the serial console on stdout',
    )
    .argument(
      '<image>',
      'an ISO file, a disk image (raw, qcow2, vmdk, vhdx, vpc), a folder holding vmlinuz, initrd.img and cmdline, or a microVM folder (vm-config.json)',
    )
    .option('--disk <img>', 'attach a raw disk image (repeatable)', collect, [])
    .option(
      '--expect <regex>',
      'succeed once a console line matches (repeatable: all must match)',
      collect,
      [],
    );
  addVmOptions(command, { seconds: '120', description: 'with --expect: give up after this long' }).action(
    async (image: string, flags: BootFlags, cmd: Command) => {
      const { globals, logger, vm } = await openVm(image, flags, cmd);
      const expect = compileExpectations(flags.expect);
      await withSession(cacheRoot(), 'boot', logger, () =>
        bootOrWatch(image, { ...vm, disks: flags.disk }, expect, flags, globals, logger),
      );
    },
  );
}

/** Without --expect: the terminal is handed to qemu; with: the console is watched. */
async function bootOrWatch(
  image: string,
  vm: VmOptions,
  expect: RegExp[],
  flags: BootFlags,
  globals: GlobalOptions,
  logger: Logger,
): Promise<void> {
  if (expect.length === 0) {
    // Nothing to wait for: hand the terminal over (Ctrl-A X quits qemu).
    await withOvmfVars(vm, async (vars) => {
      await run(qemuBinary(vm), interactiveQemuArgs(vm, vars), {
        inherit: true,
        logger,
        dieWithParent: true,
      });
    });
    return;
  }
  const res = await bootVm(
    vm,
    { expect, timeoutMs: timeoutMs(flags), onLine: consoleWriter(globals, 'console') },
    logger,
  );
  if (res.reason === 'matched') return;
  const missing = flags.expect.filter((_, i) => !res.seen[i]);
  const why =
    res.reason === 'timeout'
      ? `within ${flags.timeout} s`
      : `before qemu ${res.signal ? `was killed by ${res.signal}` : `exited (status ${res.exitCode})`}`;
  const consoleTail = tail(res.lines.join('\n'), 20);
  throw new CommandError(
    `boot ${image}: not seen ${why}:\n${missing.map((m) => `  /${m}/`).join('\n')}\n  $ ${res.command}` +
      `\n  console (last lines):\n${indent(consoleTail, '    ')}`,
    { stage: 'boot', command: res.command, outputTail: consoleTail },
  );
}
