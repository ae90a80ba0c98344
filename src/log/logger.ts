import { createWriteStream, type WriteStream } from 'node:fs';

/**
 * The one logger. Human lines go to stderr (colour only on a TTY, NO_COLOR respected);
 * with --json each event is one JSON line on stdout instead. A stage may attach a log file
 * that receives every line, including the full output of the commands it runs.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEvent {
  type: string;
  [key: string]: unknown;
}

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** A structured event (stage start/end, cache hit...). Printed as JSON in --json mode. */
  event(ev: LogEvent, human?: string): void;
  /** Raw command output: only into the attached log file (and stderr with --verbose). */
  output(chunk: string): void;
  /** Attach a file that receives every line until detached. */
  attachFile(path: string): void;
  detachFile(): Promise<void>;
}

export interface LoggerOptions {
  json?: boolean;
  verbose?: boolean;
  debug?: boolean;
  quiet?: boolean;
  stream?: NodeJS.WritableStream;
}

export function useColour(stream: NodeJS.WritableStream = process.stderr): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  return Boolean((stream as NodeJS.WriteStream).isTTY);
}

const COLOURS: Record<LogLevel, string> = { debug: '90', info: '0', warn: '33', error: '31' };

export function createLogger(opts: LoggerOptions = {}): Logger {
  const out = opts.stream ?? process.stderr;
  const colour = !opts.json && useColour(out);
  let file: WriteStream | undefined;

  const toFile = (line: string) => file?.write(line.endsWith('\n') ? line : line + '\n');
  const say = (level: LogLevel, msg: string) => {
    toFile(`[${level}] ${msg}`);
    if (level === 'debug' && !opts.debug && !opts.verbose) return;
    if (opts.quiet && (level === 'info' || level === 'debug')) return;
    if (opts.json) {
      process.stdout.write(JSON.stringify({ type: 'log', level, message: msg }) + '\n');
      return;
    }
    const prefix = level === 'warn' ? 'warning: ' : level === 'error' ? 'error: ' : '';
    const text = prefix + msg;
    out.write((colour && level !== 'info' ? `\x1b[${COLOURS[level]}m${text}\x1b[0m` : text) + '\n');
  };

  return {
    debug: (m) => say('debug', m),
    info: (m) => say('info', m),
    warn: (m) => say('warn', m),
    error: (m) => say('error', m),
    event(ev, human) {
      toFile(JSON.stringify(ev));
      if (opts.json) process.stdout.write(JSON.stringify(ev) + '\n');
      else if (human !== undefined && !opts.quiet) out.write(human + '\n');
    },
    output(chunk) {
      toFile(chunk);
      if (opts.verbose && !opts.json) out.write(chunk.endsWith('\n') ? chunk : chunk + '\n');
    },
    attachFile(path) {
      const stream = createWriteStream(path, { flags: 'a', mode: 0o644 });
      // A full disk must not become an unhandled 'error' event: stop writing the file, say so once.
      stream.on('error', (err) => {
        if (file === stream) file = undefined;
        say('warn', `log file ${path}: ${err.message}; no longer written`);
      });
      file = stream;
    },
    detachFile() {
      const f = file;
      file = undefined;
      return new Promise((resolve) => (f ? f.end(resolve) : resolve()));
    },
  };
}

/** A logger that drops everything: for library callers and unit tests that do not care. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  event() {},
  output() {},
  attachFile() {},
  async detachFile() {},
};

/**
 * A logger that writes every line, command output included, to `path` and passes everything
 * on to `base`: each stage's full log, whatever the terminal shows.
 */
export function teeLogger(base: Logger, path: string): Logger & { close(): Promise<void> } {
  const file = createWriteStream(path, { flags: 'a', mode: 0o644 });
  // A write error (a full disk) is kept and given back by close(): the stage fails with it.
  let failure: Error | undefined;
  file.on('error', (err) => (failure ??= err));
  // Every line stamped, so a slow step shows in the log as a gap between times.
  const line = (s: string) => {
    if (failure) return;
    const stamp = new Date().toISOString();
    file.write(
      s
        .replace(/\n$/, '')
        .split('\n')
        .map((l) => `${stamp} ${l}\n`)
        .join(''),
    );
  };
  const level =
    (name: LogLevel) =>
    (msg: string): void => {
      line(`[${name}] ${msg}`);
      base[name](msg);
    };
  return {
    debug: level('debug'),
    info: level('info'),
    warn: level('warn'),
    error: level('error'),
    event(ev, human) {
      line(JSON.stringify(ev));
      base.event(ev, human);
    },
    output(chunk) {
      line(chunk);
      base.output(chunk);
    },
    attachFile: (p) => base.attachFile(p),
    detachFile: () => base.detachFile(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        const done = () => (failure ? reject(failure) : resolve());
        if (file.closed) return done();
        // 'close' follows both a clean finish and an error (autoClose).
        file.once('close', done);
        file.end();
      }),
  };
}

/**
 * `base` with every line it is given marked by `prefix`: the log of work that runs beside
 * other work (iso-base's kernel download beside the bootstrap) stays readable when interleaved.
 */
export function prefixLogger(base: Logger, prefix: string): Logger {
  const mark = (s: string) => s.replace(/^(?=.)/gm, prefix);
  return {
    debug: (msg) => base.debug(mark(msg)),
    info: (msg) => base.info(mark(msg)),
    warn: (msg) => base.warn(mark(msg)),
    error: (msg) => base.error(mark(msg)),
    event: (ev, human) => base.event(ev, human),
    output: (chunk) => base.output(mark(chunk)),
    attachFile: (p) => base.attachFile(p),
    detachFile: () => base.detachFile(),
  };
}
