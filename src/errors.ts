/**
 * Typed errors. Library code throws these; only the CLI's top-level handler prints them
 * and chooses the exit code (2 for spec and usage errors, 1 for build failures).
 */

/** One problem found in a spec file, already mapped to a position. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** JSON pointer into the document, '' for the whole document. */
  pointer: string;
  message: string;
  /** Name of the semantic rule or 'parse' / 'schema'. */
  rule: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col} ${d.pointer || '/'}: ${d.message}`;
}

export class IsobuildError extends Error {
  readonly exitCode: number = 1;
  /** The pipeline stage the error happened in; the message names it once, at the front. */
  stage?: string;

  /** Says which stage failed, unless something already did (the pipeline's runner calls this). */
  atStage(stage: string | undefined): this {
    if (!stage || this.stage) return this;
    this.stage = stage;
    this.message = `stage ${stage}: ${this.message}`;
    return this;
  }
}

export class SpecError extends IsobuildError {
  override readonly exitCode = 2;
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'SpecError';
  }
}

export class UsageError extends IsobuildError {
  override readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface MissingTool {
  tool: string;
  reason: string;
  debianPackage: string;
}

export class ToolMissingError extends IsobuildError {
  constructor(readonly missing: readonly MissingTool[]) {
    super(
      'missing host tools:\n' +
        missing
          .map((m) => `  ${m.tool} (needed to ${m.reason}): apt-get install ${m.debianPackage}`)
          .join('\n'),
    );
    this.name = 'ToolMissingError';
  }
}

export class CommandError extends IsobuildError {
  constructor(
    message: string,
    readonly details: {
      stage?: string;
      command: string;
      exitCode?: number;
      outputTail: string;
      logFile?: string;
      /** What the user can do about it (shown after the output). */
      hint?: string;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CommandError';
    this.atStage(details.stage);
  }

  /** The same failure with advice on what to do next, in the message and as data. */
  withHint(hint: string): CommandError {
    const err = new CommandError(
      `${this.message}\n  ${hint}`,
      { ...this.details, stage: undefined, hint },
      {
        cause: this.cause,
      },
    );
    err.stage = this.stage;
    return err;
  }
}

/** A build step failed for a reason that is not a single command (a missing driver, a bad root). */
export class BuildError extends IsobuildError {
  constructor(message: string, stage?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BuildError';
    this.atStage(stage);
  }
}

/** One of the biggest contributors to an output over its size budget. */
export interface BudgetContributor {
  /** A package, or what isobuild put there ("isobuild init layer", "/boot: kernel and boot loader"). */
  readonly name: string;
  readonly bytes: number;
  /** How much it must lose for the output to fit, if every contributor shrinks alike. */
  readonly shrinkBytes: number;
}

/**
 * An output over the spec's `budget`: a size after the stage that makes it (the build stops
 * there, before any output is written), or the boot time under `isobuild test`.
 */
export class BudgetError extends BuildError {
  constructor(
    message: string,
    readonly details: {
      budget: 'initrd' | 'iso' | 'rootfs' | 'boot';
      /** Bytes, or seconds for boot. */
      limit: number;
      actual: number;
      contributors: readonly BudgetContributor[];
    },
    stage?: string,
  ) {
    super(message, stage);
    this.name = 'BudgetError';
  }
}

/** One problem with a kernel's configuration: a driver, a preset, a fragment line, an option. */
export interface KernelConfigProblem {
  /** The file the problem is in (a fragment, init.sh, the spec), and its 1-based line. */
  file?: string;
  line?: number;
  /** 1-based column where the driver's word (init.sh) or value (the spec) starts. */
  col?: number;
  /** The spec's JSON pointer of the driver (/drivers/2). */
  pointer?: string;
  /** Where a driver was asked for when no file of the repo says it: VIC's common list. */
  list?: string;
  driver?: string;
  /** The Kconfig symbol, without CONFIG_. */
  symbol?: string;
  message: string;
  /** What to write instead ("did you mean ..."). */
  suggestion?: string;
}

export function formatKernelConfigProblem(p: KernelConfigProblem): string {
  const at = p.line ? `:${p.line}${p.col ? `:${p.col}` : ''}` : '';
  const where = p.file ? `${p.file}${at}${p.pointer ? ` ${p.pointer}` : ''}: ` : p.list ? `${p.list}: ` : '';
  return `${where}${p.message}${p.suggestion ? ` (${p.suggestion})` : ''}`;
}

/**
 * A kernel configuration that cannot be built as asked, found before `make` runs: an unknown
 * preset, driver or option, or an option whose dependencies can never hold on x86_64 (exit 2).
 */
export class KernelConfigError extends IsobuildError {
  override readonly exitCode = 2;
  constructor(
    readonly problems: readonly KernelConfigProblem[],
    options?: { cause?: unknown },
  ) {
    super(
      problems.length === 1
        ? formatKernelConfigProblem(problems[0]!)
        : 'kernel configuration:\n' + problems.map((p) => `  ${formatKernelConfigProblem(p)}`).join('\n'),
      options,
    );
    this.name = 'KernelConfigError';
  }
}

/**
 * A remote cache entry whose content is not what it claims to be (a blob's digest, a config
 * naming another stage, files that differ from its builder's manifest): never used. The build
 * then looks for an intact entry below it instead of rebuilding everything.
 */
export class RefusedEntryError extends IsobuildError {
  constructor(
    /** The entry as the remote names it (e.g. registry:tag). */
    readonly entry: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${entry} refused: ${reason}`, options);
    this.name = 'RefusedEntryError';
  }
}

/**
 * A file operation the machine refused for a reason the user can act on (a full disk, no
 * permission, a read-only mount, too many open files), naming the path; for a full disk also
 * the bytes needed and free when they are known (src/fs/fs-error.ts makes these).
 */
export class FileSystemError extends IsobuildError {
  constructor(
    message: string,
    readonly details: {
      path: string;
      /** The errno code: ENOSPC, EACCES, EROFS... */
      code: string;
      neededBytes?: number;
      freeBytes?: number;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FileSystemError';
  }
}

/** A lock file that is unreadable, stale, or that the sources or the built root no longer match (exit 1). */
/** `unowned: error`: files of an output's root with no known source; the list as data. */
export class UnownedFilesError extends IsobuildError {
  constructor(
    message: string,
    readonly context: {
      readonly output: string;
      readonly manifest: string;
      readonly files: readonly string[];
    },
  ) {
    super(message);
    this.name = 'UnownedFilesError';
  }
}

/** `isobuild verify`: which checks failed (the subject digest, the signature), as data. */
export class VerifyError extends IsobuildError {
  constructor(
    message: string,
    readonly context: { readonly output: string; readonly failed: readonly ('digest' | 'signature')[] },
  ) {
    super(message);
    this.name = 'VerifyError';
  }
}

export class LockError extends IsobuildError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LockError';
  }
}

/**
 * A bundle (`isobuild bundle`, `build --from-bundle`) that cannot be used: a file missing or
 * changed, or something the rebuild needs that it lacks. `file` names the bundle's entry.
 */
export class BundleError extends IsobuildError {
  constructor(
    message: string,
    readonly details: { bundle: string; file?: string },
    options?: { cause?: unknown },
  ) {
    super(`bundle ${details.bundle}: ${details.file ? `${details.file}: ` : ''}${message}`, options);
    this.name = 'BundleError';
  }
}

/** SIGINT/SIGTERM: every command was stopped and cleanup ran; exit 130 as shells do. */
export class InterruptedError extends IsobuildError {
  override readonly exitCode = 130;
  constructor(signal: string) {
    super(`interrupted by ${signal}; nothing partial was kept`);
    this.name = 'InterruptedError';
  }
}

export class InternalError extends IsobuildError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InternalError';
  }
}

/**
 * A stage ran a command it did not declare (Stage.commands): a bug in isobuild, caught before
 * the command runs so that no tool escapes the preflight and the key.
 */
export class UndeclaredToolError extends InternalError {
  constructor(
    stage: string,
    readonly tool: string,
    readonly declared: readonly string[],
  ) {
    super(
      `ran ${tool}, which the stage does not declare (it declares: ${declared.join(', ') || 'nothing'}); add it to the stage's commands`,
    );
    this.name = 'UndeclaredToolError';
    this.atStage(stage);
  }
}
