import {
  BudgetError,
  BuildError,
  BundleError,
  CommandError,
  FileSystemError,
  InterruptedError,
  IsobuildError,
  SpecError,
  ToolMissingError,
  UsageError,
  type Diagnostic,
  type MissingTool,
} from '../errors.js';

/**
 * The --json contract: every command prints JSON Lines on stdout, one event per line, each with
 * a `type`. The shapes are in schemas/events.schema.json and docs/json.md; a new command adds
 * its event there (the unit tests validate every command's output against that schema).
 */

/** Every kind of error the CLI reports, derived from the typed error classes. */
export const ERROR_KINDS = [
  'usage',
  'spec',
  'tool-missing',
  'command',
  'file-system',
  'budget',
  'bundle',
  'build',
  'interrupted',
  'internal',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface ErrorEvent {
  type: 'error';
  kind: ErrorKind;
  message: string;
  exitCode: number;
  diagnostics?: readonly Diagnostic[];
  missing?: readonly MissingTool[];
  stage?: string;
  command?: string;
  outputTail?: string;
  logFile?: string;
  hint?: string;
  /** kind file-system: the path, the errno code, and for a full disk the bytes needed and free when known. */
  path?: string;
  code?: string;
  neededBytes?: number;
  freeBytes?: number;
  /** kind budget: which budget, its limit and the actual value (bytes, or seconds for boot), the biggest contributors. */
  budget?: string;
  limit?: number;
  actual?: number;
  contributors?: readonly { name: string; bytes: number; shrinkBytes: number }[];
  /** kind bundle: the bundle is `path`; `file` the entry of it that is missing, changed or lacking. */
  file?: string;
}

function kindOf(err: unknown): ErrorKind {
  if (err instanceof UsageError) return 'usage';
  if (err instanceof SpecError) return 'spec';
  if (err instanceof ToolMissingError) return 'tool-missing';
  if (err instanceof CommandError) return 'command';
  if (err instanceof InterruptedError) return 'interrupted';
  if (err instanceof FileSystemError) return 'file-system';
  if (err instanceof BudgetError) return 'budget';
  if (err instanceof BundleError) return 'bundle';
  if (err instanceof BuildError) return 'build';
  if (err instanceof IsobuildError) return 'build';
  return 'internal';
}

/** The `error` event of an error, its context carried as fields rather than glued into text. */
export function errorEvent(err: unknown, exitCode: number): ErrorEvent {
  const ev: ErrorEvent = {
    type: 'error',
    kind: kindOf(err),
    message: err instanceof Error ? err.message : String(err),
    exitCode,
  };
  if (err instanceof SpecError) ev.diagnostics = err.diagnostics;
  if (err instanceof ToolMissingError) ev.missing = err.missing;
  // Whatever failed inside a stage carries it (the pipeline's runner says so once, atStage).
  if (err instanceof IsobuildError && err.stage) ev.stage = err.stage;
  if (err instanceof CommandError) {
    const d = err.details;
    Object.assign(ev, { command: d.command, outputTail: d.outputTail });
    if (d.logFile) ev.logFile = d.logFile;
    if (d.hint) ev.hint = d.hint;
  }
  if (err instanceof FileSystemError) {
    const d = err.details;
    Object.assign(ev, { path: d.path, code: d.code });
    if (d.neededBytes !== undefined) ev.neededBytes = d.neededBytes;
    if (d.freeBytes !== undefined) ev.freeBytes = d.freeBytes;
  }
  if (err instanceof BudgetError) Object.assign(ev, err.details);
  if (err instanceof BundleError) {
    ev.path = err.details.bundle;
    if (err.details.file) ev.file = err.details.file;
  }
  return ev;
}

/** Write one event as one JSON line on stdout. */
export function writeEvent<E extends { type: string }>(
  ev: E,
  stream: NodeJS.WritableStream = process.stdout,
): void {
  stream.write(JSON.stringify(ev) + '\n');
}
