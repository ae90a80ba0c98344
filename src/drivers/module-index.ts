import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/**
 * What kmod knows about one kernel's modules, read from the files depmod writes into
 * /lib/modules/<version>. Module names are normalised ('-' → '_') as kmod does, so
 * `virtio-blk` and `virtio_blk` are the same driver.
 */
export interface ModuleIndex {
  readonly kernelVersion: string;
  /** Module name → its file, relative to /lib/modules/<version>. */
  readonly files: ReadonlyMap<string, string>;
  /** Module name → the modules it needs (modules.dep lists the whole closure). */
  readonly deps: ReadonlyMap<string, readonly string[]>;
  /** Modules compiled into the kernel. */
  readonly builtin: ReadonlySet<string>;
  /** Alias patterns (globs, normalised) with the modules they name. */
  readonly aliases: readonly { pattern: string; module: string }[];
  /** Soft dependencies (modules.softdep): modprobe loads them too, so they must stay in the root. */
  readonly softdeps: ReadonlyMap<string, readonly string[]>;
}

/** kmod's name normalisation: dashes and underscores are the same. */
export function normaliseModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

/** `kernel/drivers/block/virtio_blk.ko.xz` → `virtio_blk`. */
export function moduleNameFromPath(path: string): string {
  return normaliseModuleName(basename(path).replace(/\.ko(\.(xz|zst|gz))?$/, ''));
}

export function parseModulesDep(text: string): { files: Map<string, string>; deps: Map<string, string[]> } {
  const files = new Map<string, string>();
  const deps = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const file = line.slice(0, colon).trim();
    if (!file) continue;
    const name = moduleNameFromPath(file);
    files.set(name, file);
    deps.set(
      name,
      line
        .slice(colon + 1)
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(moduleNameFromPath),
    );
  }
  return { files, deps };
}

export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map(moduleNameFromPath),
  );
}

/** modules.alias / modules.builtin.alias lines: `alias <pattern> <module>`. */
export function parseModulesAlias(text: string): { pattern: string; module: string }[] {
  const out: { pattern: string; module: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^alias\s+(\S+)\s+(\S+)/.exec(line);
    if (m) out.push({ pattern: normaliseModuleName(m[1]!), module: normaliseModuleName(m[2]!) });
  }
  return out;
}

/** modules.softdep lines: `softdep <module> pre: a b post: c`. */
export function parseModulesSoftdep(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'softdep' || !words[1]) continue;
    const wanted = words.slice(2).filter((w) => w !== 'pre:' && w !== 'post:');
    const name = normaliseModuleName(words[1]);
    out.set(name, [...(out.get(name) ?? []), ...wanted.map(normaliseModuleName)]);
  }
  return out;
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Reads the index of the kernel installed in `root` (modules.dep must exist: depmod ran). */
export async function readModuleIndex(root: string, kernelVersion: string): Promise<ModuleIndex> {
  const dir = modulesDir(root, kernelVersion);
  const { files, deps } = parseModulesDep(await readFile(join(dir, 'modules.dep'), 'utf8'));
  const aliases = [
    ...parseModulesAlias(await readOptional(join(dir, 'modules.alias'))),
    ...parseModulesAlias(await readOptional(join(dir, 'modules.builtin.alias'))),
  ];
  return {
    kernelVersion,
    files,
    deps,
    builtin: parseModulesBuiltin(await readOptional(join(dir, 'modules.builtin'))),
    aliases,
    softdeps: parseModulesSoftdep(await readOptional(join(dir, 'modules.softdep'))),
  };
}

export function modulesDir(root: string, kernelVersion: string): string {
  return join(root, 'lib', 'modules', kernelVersion);
}
