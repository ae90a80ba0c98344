import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import type { Logger } from '../../../src/log/logger.js';
import type { PmContext } from '../../../src/pm/types.js';
import type { ResolvedSpec } from '../../../src/spec/types.js';

/** A logger that keeps what it is told, for assertions on warnings and command output. */
export interface CapturingLogger extends Logger {
  lines: { level: string; text: string }[];
  /** Everything the commands printed. */
  output: (chunk: string) => void;
  outputText(): string;
}

export function makeCapturingLogger(): CapturingLogger {
  const lines: { level: string; text: string }[] = [];
  const out: string[] = [];
  const say = (level: string) => (text: string) => void lines.push({ level, text });
  return {
    lines,
    debug: say('debug'),
    info: say('info'),
    warn: say('warn'),
    error: say('error'),
    event() {},
    output: (chunk) => void out.push(chunk),
    outputText: () => out.join(''),
    attachFile() {},
    async detachFile() {},
  };
}

/**
 * A PmContext over temp folders, built by hand as a stage would (pmContextOf), with the
 * real runner: the adapters run the real rpm and dnf.
 */
export interface TestPmContext {
  ctx: PmContext;
  logger: CapturingLogger;
  base: string;
  cleanup(): Promise<void>;
}

export async function makePmContext(
  spec: ResolvedSpec,
  opts: { pkgCacheDir?: string; stage?: string } = {},
): Promise<TestPmContext> {
  const base = await mkdtemp(join(tmpdir(), 'isobuild-rpm-root-'));
  const logger = makeCapturingLogger();
  const stage = opts.stage ?? 'iso-base';
  const ctx: PmContext = {
    spec,
    rootfs: join(base, 'rootfs'),
    pkgCacheDir: opts.pkgCacheDir ?? join(base, 'pkg-cache'),
    tmpDir: join(base, 'tmp'),
    stage,
    sourceDateEpoch: 1700000000,
    listsMaxAge: spec.packageListsMaxAge,
    logger,
    run: (file, args, o) => run(file, args, { stage, logger, ...o }),
  };
  return { ctx, logger, base, cleanup: () => rm(base, { recursive: true, force: true }) };
}
