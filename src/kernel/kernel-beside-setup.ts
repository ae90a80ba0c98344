import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BuildError } from '../errors.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { prefixLogger, type Logger } from '../log/logger.js';
import type { EarlyKernel } from '../pm/types.js';
import { mergeKernelFiles, unpackKernelFile, type UnpackedKernel } from './extract-kernel.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** What it needs of the stage. */
export interface BesideSetupContext {
  tmpDir: string;
  stage: string;
  logger: Logger;
  run: Runner;
  /** For the dpkg database files the merge writes. */
  sourceDateEpoch?: number;
}

/** The kernel package fetched and unpacked while the package manager sets the root up. */
export interface KernelBesideSetup {
  /**
   * After setup: merge the unpacked kernel into the root; false (and why, logged) when the
   * kernel is to be fetched after setup instead. Ends the work either way.
   */
  merge(root: string): Promise<boolean>;
  /** Setup failed: stop the commands that still run, wait for them, remove the scratch folder. */
  end(): Promise<void>;
}

/**
 * kernel_install: files, when the adapter can fetch from no root: `fetch` (the adapter's
 * downloadKernelBesideSetup, given a runner that stops when setup fails) and the unpacking into a
 * scratch folder run beside setup. The merge waits for setup: merging earlier would break the
 * merged-/usr links the bootstrap makes.
 */
export function startKernelBesideSetup(
  ctx: BesideSetupContext,
  fetch: (run: Runner) => Promise<EarlyKernel | undefined>,
  setupName: string,
): KernelBesideSetup {
  const stop = new AbortController();
  // Its commands' lines interleave with setup's in the stage log: marked, they stay apart.
  const logger = prefixLogger(ctx.logger, 'beside setup: ');
  const run: Runner = (file, args, opts) =>
    stop.signal.aborted
      ? Promise.reject(new BuildError(`${file}: not started, setup failed`, ctx.stage))
      : ctx.run(file, args, { ...opts, logger, signal: stop.signal });
  const scratch = join(ctx.tmpDir, 'kernel-beside-setup');
  const started = performance.now();
  const result: Promise<{ unpacked: UnpackedKernel[]; early: EarlyKernel } | { why: string | undefined }> =
    (async () => {
      const early = await fetch(run);
      // The adapter said why it cannot.
      if (!early) return { why: undefined };
      const unpacked: UnpackedKernel[] = [];
      for (const [i, file] of early.files.entries()) {
        const dir = join(scratch, String(i));
        await mkdir(dir, { recursive: true });
        await unpackKernelFile(file, dir, run);
        unpacked.push({ file, dir });
      }
      const names = early.files.map((f) => basename(f.path)).join(', ');
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      ctx.logger.info(`kernel package ${names} fetched and unpacked beside ${setupName} (${seconds} s)`);
      return { unpacked, early };
    })().catch(async (err: unknown) => {
      await rm(scratch, { recursive: true, force: true });
      return { why: stop.signal.aborted ? 'setup failed' : `it failed: ${firstLine(err)}` };
    });
  const end = async () => {
    stop.abort();
    await result;
    await rm(scratch, { recursive: true, force: true });
  };
  return {
    end,
    async merge(root) {
      try {
        const fetched = await result;
        const outdated = 'unpacked' in fetched ? await fetched.early.outdated() : fetched.why;
        if ('unpacked' in fetched && !outdated) {
          await mergeKernelFiles(fetched.unpacked, root, {
            tmpDir: ctx.tmpDir,
            run: ctx.run,
            stage: ctx.stage,
            epoch: ctx.sourceDateEpoch,
          });
          return true;
        }
        if (outdated)
          ctx.logger.warn(
            `the kernel fetched beside ${setupName} is not used (${outdated}): fetching it after setup`,
          );
        return false;
      } finally {
        await end();
      }
    },
  };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
