import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A kernel's build configuration, from the `config-<version>` its package installs in /boot
 * (iso-base moves it to bootfs beside vmlinuz): the options set to y or m.
 */
export interface KernelConfig {
  path: string;
  enabled: ReadonlySet<string>;
}

/** Parses `CONFIG_X=y` / `=m` lines; `# CONFIG_X is not set` and values other than y/m are off. */
export function parseKernelConfig(text: string): Set<string> {
  const enabled = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=([ym])\s*$/.exec(line);
    if (m) enabled.add(m[1]!);
  }
  return enabled;
}

/**
 * Reads bootfs/config-<version>, or the only config-* there when the version is not known.
 * Undefined when the kernel came without one (a bare vmlinuz).
 */
export async function readKernelConfig(bootfs: string, version?: string): Promise<KernelConfig | undefined> {
  const names = (await readdir(bootfs).catch(() => [] as string[])).filter((n) => n.startsWith('config-'));
  const name = version
    ? names.find((n) => n === `config-${version}`)
    : names.length === 1
      ? names[0]
      : undefined;
  if (!name) return undefined;
  const path = join(bootfs, name);
  return { path, enabled: parseKernelConfig(await readFile(path, 'utf8')) };
}
