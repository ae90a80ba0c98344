import type { Command } from 'commander';
import { basename, join, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { CommandError } from '../errors.js';
import { checkTools } from '../exec/host-tools.js';
import { run } from '../exec/run.js';
import { interactiveQemuArgs, qemuArgs, qemuBinary, withOvmfVars } from '../image/qemu.js';
import {
  freePort,
  makeSshKey,
  parsePort,
  readSshState,
  removeSshState,
  sshArgs,
  sshDir,
  writeSshState,
} from '../image/ssh-access.js';
import { DEFAULT_MEMORY_MB, vmOptionsFrom, type VmFlags } from '../image/vm-flags.js';
import type { Logger } from '../log/logger.js';
import { withSession } from '../pipeline/build-session.js';
import { cacheRoot, loggerFor, type GlobalOptions } from './context.js';

interface QemuFlags extends Omit<VmFlags, 'timeout'> {
  target: string;
  ssh?: boolean;
  sshPort?: string;
  console: boolean;
}

/**
 * An existing file or folder is booted as it is; anything else is a repo, built up to the target
 * by `isobuild build` itself (a child, so that every build flag and check is the build's own),
 * whose first `output` event names what to boot.
 */
async function imageFor(ref: string, target: string, globals: GlobalOptions, logger: Logger) {
  if (await stat(ref).catch(() => undefined)) return { image: resolve(ref), name: basename(ref) };
  const repos = globals.repos ? ['--repos', globals.repos] : [];
  const res = await run(
    process.execPath,
    [process.argv[1]!, ...repos, '--json', 'build', ref, '--target', target],
    { stage: 'build', logger },
  );
  for (const line of res.stdout.split('\n')) {
    const ev = line.startsWith('{') ? (JSON.parse(line) as { type?: string; path?: string }) : {};
    if (ev.type === 'output' && ev.path) return { image: ev.path, name: `${ref}-${target}` };
  }
  throw new CommandError(`isobuild qemu ${ref}: the build of ${target} named no output`, {
    stage: 'build',
    command: res.command,
    outputTail: res.stdout.slice(-2000),
  });
}

export function registerQemu(program: Command): void {
  program
    .command('qemu')
    .description(
      "boot a repo's target (built first, or taken from the cache) or an image interactively in qemu; --ssh opens a port to its sshd",
    )
    .argument('<repo|image>', 'a repo name or folder, or an ISO file, kernel+initrd or microVM folder')
    .option('-t, --target <target>', 'with a repo: the target to build and boot', 'appliance')
    .option('--ssh', "forward a loopback port to the guest's sshd; root's key is made for this VM")
    .option('--ssh-port <port>', 'with --ssh: the host port (default: a free one)')
    .option('--no-console', 'keep the terminal: the console goes to a file (for scripts and tests)')
    .option('--uefi', 'boot under UEFI (OVMF) instead of BIOS')
    .option(
      '--secure-boot [keys]',
      'UEFI with Secure Boot enforced; keys: ms (default), snakeoil, or an OVMF_VARS file',
    )
    .option('--usb', 'attach the ISO as a hard disk, the way a USB stick boots, not as a CD')
    .option('--memory <mb>', `guest memory (default ${DEFAULT_MEMORY_MB}; a microVM folder's mem_size_mib)`)
    .option('--accel <accel>', 'tcg, or kvm where it works', 'tcg')
    .option('--append <args>', 'extra kernel arguments (kernel+initrd and microVM folders only)')
    .option('--microvm', 'boot the folder as a microVM (qemu -M microvm) even without vm-config.json')
    .action(async (ref: string, flags: QemuFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      const { image, name } = await imageFor(ref, flags.target, globals, logger);
      const vm = { ...(await vmOptionsFrom(image, { ...flags, timeout: '0' })), disks: [] };
      const dir = sshDir(cacheRoot(), name);
      if (flags.ssh) {
        await checkTools([{ tool: 'ssh-keygen', reason: "make the VM's SSH key (--ssh)" }]);
        const key = await makeSshKey(dir, logger);
        const port = flags.sshPort !== undefined ? parsePort(flags.sshPort) : await freePort();
        vm.ssh = { port, publicKey: key.publicKey };
        await writeSshState(dir, { port, privateKey: key.privateKey, pid: process.pid, image });
        logger.event(
          { type: 'ssh', port, key: key.privateKey, name },
          `ssh: isobuild ssh ${name}  (or ssh -p ${port} -i ${key.privateKey} root@127.0.0.1)`,
        );
      }
      const consoleFile = join(dir, 'console.log');
      if (!flags.console)
        logger.event({ type: 'console-file', path: consoleFile }, `console: ${consoleFile}`);
      try {
        await withSession(cacheRoot(), 'qemu', logger, () =>
          withOvmfVars(vm, async (vars) => {
            const args = flags.console ? interactiveQemuArgs(vm, vars) : qemuArgs(vm, vars, consoleFile);
            await run(qemuBinary(vm), args, {
              inherit: flags.console,
              logger,
              dieWithParent: true,
              ...(flags.console ? {} : { input: '' }),
            });
          }),
        );
      } finally {
        if (flags.ssh) await removeSshState(dir);
      }
    });

  program
    .command('ssh')
    .description('run ssh as root into the VM a running `isobuild qemu REPO|IMAGE --ssh` started')
    .argument('<repo|image>', 'as given to isobuild qemu')
    .argument('[command...]', 'a command to run instead of a shell, after --')
    .option('-t, --target <target>', 'with a repo: the target isobuild qemu booted', 'appliance')
    .action(async (ref: string, command: string[], flags: { target: string }, cmd: Command) => {
      const logger = loggerFor(cmd.optsWithGlobals<GlobalOptions>());
      const isImage = Boolean(await stat(ref).catch(() => undefined));
      const name = isImage ? basename(ref) : `${ref}-${flags.target}`;
      const started = `isobuild qemu ${ref}${isImage ? '' : ` --target ${flags.target}`} --ssh`;
      const state = await readSshState(sshDir(cacheRoot(), name), started);
      await checkTools([{ tool: 'ssh', reason: 'log in to the VM' }]);
      const res = await run('ssh', sshArgs(state, command), { inherit: true, logger, allowFailure: true });
      process.exitCode = res.exitCode;
    });
}
