import type { Command } from 'commander';
import { registerCompletion } from './completion.js';
import { registerBoot } from './boot.js';
import { registerBuild } from './build.js';
import { registerBundle } from './bundle.js';
import { registerCache } from './cache.js';
import { registerCi } from './ci.js';
import { registerClean } from './clean.js';
import { registerDoctor } from './doctor.js';
import { registerExport } from './export.js';
import { registerList } from './list.js';
import { registerNew } from './new.js';
import { registerLock } from './lock.js';
import { registerDiff } from './diff.js';
import { registerReport } from './report.js';
import { registerPlan } from './plan.js';
import { registerQemu } from './qemu.js';
import { registerRun } from './run.js';
import { registerShell } from './shell.js';
import { registerTest } from './test.js';
import { registerSummary } from './summary.js';
import { registerValidate } from './validate.js';
import { registerVerify } from './verify.js';
import { registerVerifyBoot } from './verify-boot.js';
import { registerWhy } from './why.js';

/**
 * One file per command; each registers itself on the root program. A new command is one file in
 * src/cli/ and one line here: help, usage errors ("did you mean"), `help WORD` and shell
 * completion all read the registered commands. Its --json output follows docs/json.md.
 */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerList,
  registerValidate,
  registerNew,
  registerPlan,
  registerSummary,
  registerBuild,
  registerBundle,
  registerExport,
  registerShell,
  registerLock,
  registerDiff,
  registerReport,
  registerWhy,
  registerVerify,
  registerClean,
  registerCache,
  registerDoctor,
  registerBoot,
  registerRun,
  registerTest,
  registerQemu,
  registerVerifyBoot,
  registerCi,
  registerCompletion,
];
