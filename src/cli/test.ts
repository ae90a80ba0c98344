import type { Command } from 'commander';
import { testRepo, type TestReport, type TestVmFlags } from '../build/test-repo.js';
import { parseTarget } from '../pipeline/plan.js';
import { cacheRoot, consoleWriter, loggerFor, reposDir, type GlobalOptions } from './context.js';
import { addLockTimeoutOption, parseLockTimeout } from './options.js';

interface TestFlags extends TestVmFlags {
  target?: string;
  junit?: string;
  bin: string;
  console?: boolean;
  lockTimeout: string;
}

/** The qemu options of a test boot: `isobuild run`'s, less those a spec's output decides. */
export function addTestBootOptions(cmd: Command): Command {
  return cmd
    .option('--junit <file>', 'also write the results as JUnit XML (GitHub Actions, GitLab)')
    .option('--uefi', 'boot under UEFI (OVMF) instead of BIOS')
    .option('--usb', 'attach the ISO as a hard disk, the way a USB stick boots, not as a CD')
    .option('--memory <mb>', 'guest memory in MiB')
    .option('--accel <accel>', 'tcg, or kvm where it works', 'tcg')
    .option('--ide', 'attach disks as IDE instead of virtio-blk')
    .option('--console', 'also print the whole console of each boot, on stderr');
}

/** The VM flags of `flags`, as the build library takes them. */
export function testVmFlags(flags: TestVmFlags): TestVmFlags {
  const { uefi, usb, memory, accel, ide } = flags;
  return { uefi, usb, memory, accel, ide };
}

/** A run with a failed test exits 1, after every result is printed. */
export function exitForReport(report: TestReport | undefined): void {
  if (report && !report.passed) process.exitCode = 1;
}

export function registerTest(program: Command): void {
  const command = program
    .command('test')
    .description(
      "build the targets the spec's tests name (through the cache), boot each once and run its tests; exit 1 when one fails",
    )
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder')
    .option('-t, --target <target>', 'only the tests of this target')
    .option('--bin <dir>', 'output folder of the builds', 'bin');
  addLockTimeoutOption(addTestBootOptions(command)).action(
    async (ref: string, flags: TestFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      const report = await testRepo({
        repo: ref,
        reposDir: reposDir(globals),
        cacheRoot: cacheRoot(),
        outputDir: flags.bin,
        lockTimeout: parseLockTimeout(flags.lockTimeout),
        ...(flags.target ? { target: parseTarget(flags.target) } : {}),
        vm: testVmFlags(flags),
        ...(flags.console ? { onConsole: consoleWriter(globals, 'console', process.stderr) } : {}),
        ...(flags.junit ? { junit: flags.junit } : {}),
        logger,
      });
      exitForReport(report);
    },
  );
}
