import { readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { SourceLine } from './parse-kconfig.js';

/**
 * Which Kconfig symbol builds each object, read from the tree's kbuild Makefiles: a module is an
 * object on an `obj-$(CONFIG_X) += name.o` line (several may share one line); `name-y`,
 * `name-objs` and `name-$(CONFIG_Y)` lines list what a composite module is linked from. An object
 * on an `obj-y` line is built into every kernel whose build reaches its folder, which the
 * `obj-$(CONFIG_X) += dir/` line of the folder above decides.
 */

export interface ObjectRule extends SourceLine {
  /** Module name as modprobe spells it (dashes as underscores). */
  module: string;
  /** The symbol of its own line or, for `obj-y`, of the nearest gated folder above; none: always built. */
  symbol?: string;
  /** Its own line was `obj-y`. */
  always: boolean;
}

export interface MakefileIndex {
  /** Module name → the rules building an object of that name (most names have one). */
  objects: Map<string, ObjectRule[]>;
  /** Component object name → the composite modules linked from it (`sd` → `sd_mod`). */
  partOf: Map<string, string[]>;
}

/**
 * Folders of the tree that hold no kbuild Makefiles for an x86_64 kernel. The top folder's
 * Makefile is the build's driver, not a kbuild file; its Kbuild gates block/, net/ and the rest.
 */
const SKIP = new Set(['Documentation', 'tools', 'scripts', 'samples', 'LICENSES', 'include', 'usr', '.git']);

export function normaliseModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

async function findMakefiles(sourceDir: string, dir = ''): Promise<string[]> {
  const entries = await readdir(join(sourceDir, dir), { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (dir === '' && SKIP.has(e.name)) continue;
      if (dir === 'arch' && e.name !== 'x86') continue;
      out.push(...(await findMakefiles(sourceDir, rel)));
    } else if (e.name === 'Kbuild' || (dir !== '' && e.name === 'Makefile')) out.push(rel);
  }
  return out;
}

/** The CONFIG_ symbol a kbuild variable suffix names (`$(CONFIG_X)`, `$(subst m,y,$(CONFIG_X))`), or 'y'. */
function conditionOf(suffix: string): string | undefined {
  if (suffix === 'y' || suffix === 'm') return 'y';
  return /CONFIG_([A-Za-z0-9_]+)/.exec(suffix)?.[1];
}

interface Line {
  text: string;
  line: number;
}

function logicalLines(text: string): Line[] {
  const out: Line[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let t = lines[i]!;
    while (t.endsWith('\\') && i + 1 < lines.length) t = t.slice(0, -1) + ' ' + lines[++i]!;
    out.push({ text: t.replace(/#.*$/, ''), line });
  }
  return out;
}

const ASSIGN = /^\s*([A-Za-z0-9_.\-/]+)-(\$\(.*?\)+|y|m|objs)\s*(?::=|\+=|=)\s*(.*)$/;

/** Reads every kbuild Makefile of the tree into an index (once per source folder and process). */
async function buildIndex(sourceDir: string): Promise<MakefileIndex> {
  const files = await findMakefiles(sourceDir);
  // Pass 1: each folder's gate, from the `obj-$(CONFIG_X) += sub/` lines of the folder above.
  const gates = new Map<string, string | undefined>();
  const parsed: { file: string; dir: string; lines: Line[] }[] = [];
  for (const file of files) {
    const dir = posix.dirname(file);
    const lines = logicalLines(await readFile(join(sourceDir, file), 'utf8'));
    parsed.push({ file, dir, lines });
    for (const { text } of lines) {
      const m = ASSIGN.exec(text);
      if (!m || m[1] !== 'obj') continue;
      const cond = conditionOf(m[2]!);
      for (const word of m[3]!.split(/\s+/))
        if (word.endsWith('/') && !word.includes('$')) {
          const sub = posix.normalize(`${dir}/${word}`).replace(/\/$/, '');
          if (cond && cond !== 'y') gates.set(sub, cond);
          else if (!gates.has(sub)) gates.set(sub, undefined);
        }
    }
  }
  const gateOf = (dir: string): string | undefined => {
    for (let d = dir; d !== '.' && d !== ''; d = posix.dirname(d)) {
      const g = gates.get(d);
      if (g) return g;
    }
    return undefined;
  };
  // Pass 2: the objects.
  const objects = new Map<string, ObjectRule[]>();
  const partOf = new Map<string, string[]>();
  for (const { file, dir, lines } of parsed) {
    for (const { text, line } of lines) {
      const m = ASSIGN.exec(text);
      if (!m) continue;
      const [, target, suffix, value] = m as unknown as [string, string, string, string];
      const objs = value.split(/\s+/).filter((w) => w.endsWith('.o') && !w.includes('$'));
      if (target === 'obj') {
        const cond = conditionOf(suffix);
        if (!cond) continue;
        const always = cond === 'y';
        for (const o of objs) {
          const objDir = posix.dirname(posix.normalize(`${dir}/${o}`));
          const module = normaliseModuleName(posix.basename(o, '.o'));
          const rule: ObjectRule = { module, file, line, always, symbol: always ? gateOf(objDir) : cond };
          objects.set(module, [...(objects.get(module) ?? []), rule]);
        }
      } else if (target !== 'lib' && target !== 'subdir' && target !== 'always' && target !== 'targets') {
        const composite = normaliseModuleName(posix.basename(target));
        for (const o of objs) {
          const part = normaliseModuleName(posix.basename(o, '.o'));
          if (part !== composite) partOf.set(part, [...new Set([...(partOf.get(part) ?? []), composite])]);
        }
      }
    }
  }
  return { objects, partOf };
}

const indexes = new Map<string, Promise<MakefileIndex>>();

export function readMakefiles(sourceDir: string): Promise<MakefileIndex> {
  let index = indexes.get(sourceDir);
  if (!index) {
    index = buildIndex(sourceDir);
    indexes.set(sourceDir, index);
    index.catch(() => indexes.delete(sourceDir));
  }
  return index;
}
