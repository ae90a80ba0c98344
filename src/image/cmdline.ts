import type { StageMeta } from '../stage/types.js';
import type { ResolvedSpec } from '../spec/types.js';

import { bootProfile } from './profile.js';
import { ARCHES, DEFAULT_ARCH, type Arch } from '../spec/arch.js';

/** Arguments later stages add for themselves (the app layer's knobs), from meta.cmdline. */
function metaArgs(meta: StageMeta): string[] {
  return (meta.cmdline ?? []).map((a) => a.trim()).filter((a) => a !== '');
}

/**
 * The kernel command line of an image: the profile's, then the spec's cmdline, then the stages'
 * own. The profile's serial consoles are named as the architecture names its first UARTs.
 */
export function composeCmdline(
  spec: Pick<ResolvedSpec, 'cmdline' | 'profile'> & { readonly arch?: Arch },
  meta: StageMeta = {},
): string {
  const tty = ARCHES[spec.arch ?? DEFAULT_ARCH].serialTty;
  const profileArgs = bootProfile(spec).cmdline.map((a) =>
    a.replace(/^console=ttyS(?=\d)/, `console=${tty}`),
  );
  return [...profileArgs, spec.cmdline.trim(), ...metaArgs(meta)].filter((a) => a !== '').join(' ');
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
