import type { Command } from 'commander';
import { testRepo, type TestReport, type TestVmFlags } from '../build/test-repo.js';
import { parseTarget } from '../pipeline/build-options.js';
import { cacheRoot, consoleWriter, loggerFor, reposDir, type GlobalOptions } from './context.js';
import { addLockTimeoutOption, addVmOptions, parseLockTimeout } from './options.js';
import { BOOT_ALLOWANCE_SECONDS } from '../image/boot-tests.js';
import { parsePositive, type VmFlags } from '../image/vm-flags.js';

interface TestFlags extends VmFlags {
  target?: string;
  junit?: string;
  bin: string;
  console?: boolean;
  lockTimeout: string;
}

/** The VM flags of `flags`, as the build library takes them (the timeout is the boot's allowance). */
function testVmFlags(flags: TestFlags): TestVmFlags {
  const { uefi, secureBoot, usb, memory, accel, ide, append, microvm } = flags;
  return { uefi, secureBoot, usb, memory, accel, ide, append, microvm };
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
    .option('--junit <file>', 'also write the results as JUnit XML (GitHub Actions, GitLab)')
    .option('--bin <dir>', 'output folder of the builds', 'bin')
    .option('--console', 'also print the whole console of each boot, on stderr');
  addVmOptions(command, {
    seconds: String(BOOT_ALLOWANCE_SECONDS),
    description: 'how long each boot may take before its tests start (each test adds its own timeout)',
  });
  addLockTimeoutOption(command).action(async (ref: string, flags: TestFlags, cmd: Command) => {
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
      bootSeconds: parsePositive(flags.timeout, '--timeout'),
      ...(flags.console ? { onConsole: consoleWriter(globals, 'console', process.stderr) } : {}),
      ...(flags.junit ? { junit: flags.junit } : {}),
      logger,
    });
    exitForReport(report);
  });
}
