import type { CommandSpan } from './types.js';

/** `2026-12-07T05:56:29.777Z [debug] text`: every line of a stage log is stamped (log/logger.ts's teeLogger). */
const STAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) \[\w+\] (.*)$/;
/** The runner's line after each command: `  mmdebstrap: 41.20 s, exit 0` (exec/run.ts). */
const ENDED = /^ {2}(.+): ([\d.]+) s, exit (\S+)$/;

export interface StageLogTimes {
  /** Seconds from the first stamped line to the last. */
  readonly seconds: number;
  readonly commands: readonly CommandSpan[];
}

/** The program a shown command line starts with, unquoted: `'/usr/bin/x y'` → `/usr/bin/x y`. */
function programOf(command: string): string {
  const quoted = /^'([^']*)'/.exec(command);
  return quoted ? quoted[1]! : command.split(' ')[0]!;
}

/**
 * The commands a stage ran and how long each took, from its log: the runner logs `$ command`
 * before it starts one and `  program: N s, exit E` when it ends. Commands may overlap (one runs
 * beside another), so an end is matched to the oldest open command of that program.
 */
export function parseStageLog(text: string): StageLogTimes {
  let first: number | undefined;
  let last: number | undefined;
  const open: { command: string; program: string; at: number }[] = [];
  const commands: CommandSpan[] = [];
  for (const line of text.split('\n')) {
    const m = STAMPED.exec(line);
    if (!m) continue;
    const at = Date.parse(m[1]!);
    first ??= at;
    last = at;
    const body = m[2]!;
    if (body.startsWith('$ ')) {
      const command = body.slice(2);
      open.push({ command, program: programOf(command), at });
      continue;
    }
    const end = ENDED.exec(body);
    if (!end) continue;
    const i = open.findIndex((o) => o.program === end[1]);
    if (i < 0) continue;
    const [started] = open.splice(i, 1);
    commands.push({
      command: started!.command,
      start: (started!.at - first) / 1000,
      seconds: Number(end[2]),
      exit: end[3]!,
    });
  }
  return { seconds: first === undefined ? 0 : (last! - first) / 1000, commands };
}
