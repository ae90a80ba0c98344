/**
 * Parses `strace -f -y` output (one syscall a line, each line prefixed by the pid) into
 * structured events. Only the shape of the text is handled here; what an event means for
 * the root is decided in trace-events.ts.
 */

/** One syscall argument: a decoded string literal, a file descriptor with its -y path, or raw text. */
export type SyscallArg =
  | { kind: 'string'; value: string }
  | { kind: 'fd'; fd: string; path: string }
  | { kind: 'raw'; text: string };

export interface SyscallEvent {
  pid: number;
  name: string;
  args: SyscallArg[];
  /** The return value as printed ('0', '3', '-1', '?'). */
  ret: string;
  /** The path -y printed after a returned fd (openat(...) = 3</usr/lib/libc.so.6>). */
  retPath?: string;
  /** The errno name when the call failed (ENOENT...). */
  errno?: string;
  /** 1-based line number of the (first) line in the trace, for messages. */
  line: number;
}

const PID_PREFIX = /^(\d+)\s+/;
const UNFINISHED = ' <unfinished ...>';
const RESUMED = /^<\.\.\. ([A-Za-z0-9_]+) resumed>/;

/**
 * Joins `<unfinished ...>` lines with their `<... name resumed>` continuation, per pid, so
 * that every returned line is one whole call. Signal and exit lines pass through unchanged.
 */
export function joinUnfinished(text: string): { pid: number; body: string; line: number }[] {
  const pending = new Map<number, { body: string; line: number }>();
  const out: { pid: number; body: string; line: number }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const m = PID_PREFIX.exec(raw);
    if (!m) continue;
    const pid = Number(m[1]);
    const body = raw.slice(m[0].length);
    if (body.endsWith(UNFINISHED)) {
      pending.set(pid, { body: body.slice(0, -UNFINISHED.length), line: i + 1 });
      continue;
    }
    const r = RESUMED.exec(body);
    if (r) {
      const start = pending.get(pid);
      pending.delete(pid);
      if (!start) continue; // a resumed call whose start we never saw (strace attached late)
      out.push({ pid, body: start.body + body.slice(r[0].length), line: start.line });
      continue;
    }
    out.push({ pid, body, line: i + 1 });
  }
  return out;
}

/** Decodes a C string literal as strace prints it (without the quotes). */
export function decodeCString(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const n = s[++i];
    const simple: Record<string, number> = {
      n: 10,
      t: 9,
      r: 13,
      v: 11,
      f: 12,
      a: 7,
      b: 8,
      '\\': 92,
      '"': 34,
    };
    if (n === undefined) break;
    if (n in simple) bytes.push(simple[n] as number);
    else if (n === 'x') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(n)) {
      let oct = n;
      while (oct.length < 3 && /[0-7]/.test(s[i + 1] ?? '')) oct += s[++i];
      bytes.push(parseInt(oct, 8));
    } else bytes.push(...Buffer.from(n, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Splits the text between a call's parentheses into top-level arguments, respecting
 * string literals, -y's <path> decorations and nested {}, [] and ().
 */
export function splitArgs(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') {
      const end = findStringEnd(text, i);
      cur += text.slice(i, end + 1);
      i = end;
      continue;
    }
    if (c === '<' && /[\d)A-Z_]$/.test(cur)) {
      // A -y decoration: runs to its matching '>' (paths may hold anything but '>').
      const end = text.indexOf('>', i);
      const stop = end < 0 ? text.length - 1 : end;
      cur += text.slice(i, stop + 1);
      i = stop;
      continue;
    }
    if (c === '{' || c === '[' || c === '(') depth++;
    else if (c === '}' || c === ']' || c === ')') depth--;
    if (c === ',' && depth === 0) {
      args.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) args.push(cur.trim());
  return args;
}

function findStringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}

function parseArg(text: string): SyscallArg {
  const str = /^"((?:[^"\\]|\\.)*)"(?:\.\.\.)?$/.exec(text);
  if (str) return { kind: 'string', value: decodeCString(str[1] ?? '') };
  const fd = /^(\d+|AT_FDCWD)<(.*)>$/s.exec(text);
  if (fd) return { kind: 'fd', fd: fd[1] as string, path: decodeCString(fd[2] ?? '') };
  return { kind: 'raw', text };
}

/** Finds the ')' that closes the argument list, skipping strings and decorations. */
function findCloseParen(body: string, open: number): number {
  let depth = 0;
  for (let i = open; i < body.length; i++) {
    const c = body[i];
    if (c === '"') i = findStringEnd(body, i);
    else if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i;
    } else if (c === '<' && /[\d)A-Z_]/.test(body[i - 1] ?? '')) {
      const end = body.indexOf('>', i);
      if (end > 0) i = end;
    }
  }
  return -1;
}

const CALL = /^([a-z_][a-z0-9_]*)\(/;
const RESULT = /^\s*=\s*(-?\d+|\?|0x[0-9a-f]+)(?:<(.*)>)?(?:\s+([A-Z][A-Z0-9_]*)(?:\s+\(.*\))?)?/s;

/** Parses one whole (joined) line; undefined for signals, exits and anything else. */
export function parseSyscall(pid: number, body: string, line: number): SyscallEvent | undefined {
  const m = CALL.exec(body);
  if (!m) return undefined;
  const open = m[0].length - 1;
  const close = findCloseParen(body, open);
  if (close < 0) return undefined;
  const res = RESULT.exec(body.slice(close + 1));
  if (!res) return undefined;
  const ev: SyscallEvent = {
    pid,
    name: m[1] as string,
    args: splitArgs(body.slice(open + 1, close)).map(parseArg),
    ret: res[1] as string,
    line,
  };
  if (res[2] !== undefined) ev.retPath = decodeCString(res[2]);
  if (res[3] !== undefined && ev.ret.startsWith('-')) ev.errno = res[3];
  return ev;
}

/** The whole trace file as events, in order. */
export function parseStrace(text: string): SyscallEvent[] {
  const events: SyscallEvent[] = [];
  for (const { pid, body, line } of joinUnfinished(text)) {
    const ev = parseSyscall(pid, body, line);
    if (ev) events.push(ev);
  }
  return events;
}
