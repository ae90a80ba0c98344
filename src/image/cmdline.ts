import type { StageMeta } from '../pipeline/types.js';
import type { ResolvedSpec } from '../spec/types.js';

/**
 * The console order matters: the last console= gets /dev/console, and the init's and the
 * tether's output must reach the serial port where `isobuild boot` and `run` read it.
 * panic=-1 reboots at once on a panic, which qemu's -no-reboot turns into an exit.
 */
export const BASE_CMDLINE = ['console=tty0', 'console=ttyS0,115200', 'panic=-1'] as const;

/** Arguments later stages add for themselves (the app layer's knobs), from meta.cmdline. */
function metaArgs(meta: StageMeta): string[] {
  return (meta.cmdline ?? []).map((a) => a.trim()).filter((a) => a !== '');
}

/** The kernel command line of an image: the base, then the spec's cmdline, then the stages' own. */
export function composeCmdline(spec: Pick<ResolvedSpec, 'cmdline'>, meta: StageMeta = {}): string {
  return [...BASE_CMDLINE, spec.cmdline.trim(), ...metaArgs(meta)].filter((a) => a !== '').join(' ');
}

/**
 * Splits a command line into the kernel's own words: whitespace separates them except inside
 * double quotes (the kernel's next_arg() rule).
 */
export function splitCmdline(cmdline: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quoted = false;
  let any = false;
  for (const ch of cmdline) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && /\s/.test(ch)) {
      if (any) words.push(cur);
      cur = '';
      any = false;
      continue;
    }
    cur += ch;
    any = true;
  }
  if (any) words.push(cur);
  return words;
}
