import { normaliseModuleName, type ModuleIndex } from './module-index.js';

/** How one requested driver exists in a kernel. */
export type DriverResolution =
  | { kind: 'module'; modules: string[] }
  | { kind: 'builtin' }
  | { kind: 'missing' };

/**
 * Compiled alias patterns: a kernel has ~20,000 aliases and every driver not found by name is
 * tried against all of them (compiling them anew each time took 0.1 s of a drivers stage).
 */
const compiled = new Map<string, RegExp>();

/** kmod matches aliases with fnmatch(3); the patterns use *, ? and [...] only. */
function aliasPattern(glob: string): RegExp {
  let re = compiled.get(glob);
  if (!re) {
    re = globToRegExp(glob);
    compiled.set(glob, re);
  }
  return re;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re +=
          '[' +
          glob
            .slice(i + 1, end)
            .replace(/^!/, '^')
            .replace(/\\/g, '\\\\') +
          ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Resolves a driver name as modprobe would: module name, then built-in, then alias. */
export function resolveDriver(index: ModuleIndex, name: string): DriverResolution {
  const n = normaliseModuleName(name);
  if (index.files.has(n)) return { kind: 'module', modules: [n] };
  if (index.builtin.has(n)) return { kind: 'builtin' };
  const hits = [
    ...new Set(index.aliases.filter((a) => aliasPattern(a.pattern).test(n)).map((a) => a.module)),
  ];
  const modules = hits.filter((m) => index.files.has(m)).sort();
  if (modules.length) return { kind: 'module', modules };
  if (hits.some((m) => index.builtin.has(m))) return { kind: 'builtin' };
  return { kind: 'missing' };
}

/** Where a requested driver came from; decides whether a missing one is fatal. */
export type DriverSource = 'common' | 'repo' | 'spec';

export interface DriverRequest {
  name: string;
  source: DriverSource;
  /** Names the same driver has in other kernels, tried in order when `name` is missing. */
  orElse?: readonly string[];
}

export interface DriverPlan {
  /** Modules to load, dependencies first, each once. Built-in drivers need no loading. */
  loadOrder: string[];
  /** Requested drivers the kernel has built in. */
  builtin: string[];
  /** Common-list drivers this kernel lacks (renamed or folded into another module). */
  missingCommon: string[];
  /** Repo or spec drivers the kernel lacks: the build must fail. */
  missingRequired: DriverRequest[];
}

/** Appends `name`'s dependencies, then `name`, to `out` (a depth-first post-order). */
function visit(index: ModuleIndex, name: string, seen: Set<string>, out: string[]): void {
  if (seen.has(name)) return;
  seen.add(name);
  for (const dep of index.deps.get(name) ?? []) visit(index, dep, seen, out);
  out.push(name);
}

/** The first of a request's names the kernel has, and how; the request's own name when none is. */
export function resolveRequest(
  index: ModuleIndex,
  req: Pick<DriverRequest, 'name' | 'orElse'>,
): { name: string; resolution: DriverResolution } {
  for (const name of [req.name, ...(req.orElse ?? [])]) {
    const resolution = resolveDriver(index, name);
    if (resolution.kind !== 'missing') return { name, resolution };
  }
  return { name: req.name, resolution: { kind: 'missing' } };
}

/** Resolves every requested driver against one kernel and orders the modules to load. */
export function planDrivers(index: ModuleIndex, requests: readonly DriverRequest[]): DriverPlan {
  const plan: DriverPlan = { loadOrder: [], builtin: [], missingCommon: [], missingRequired: [] };
  const seen = new Set<string>();
  for (const req of requests) {
    const { name, resolution: r } = resolveRequest(index, req);
    if (r.kind === 'module') for (const m of r.modules) visit(index, m, seen, plan.loadOrder);
    else if (r.kind === 'builtin') {
      if (!plan.builtin.includes(name)) plan.builtin.push(name);
    } else if (req.source === 'common') {
      if (!plan.missingCommon.includes(req.name)) plan.missingCommon.push(req.name);
    } else plan.missingRequired.push(req);
  }
  return plan;
}

/**
 * Every module that must stay in the root for `modules` to load: their modules.dep closure plus
 * soft dependencies (ext4 wants crc32c before it), which modprobe loads when it can.
 */
export function closeOverDependencies(index: ModuleIndex, modules: readonly string[]): Set<string> {
  const keep = new Set<string>();
  const queue = [...modules];
  while (queue.length) {
    const m = queue.pop()!;
    if (keep.has(m) || !index.files.has(m)) continue;
    keep.add(m);
    queue.push(...(index.deps.get(m) ?? []));
    for (const soft of index.softdeps.get(m) ?? []) {
      const r = resolveDriver(index, soft);
      if (r.kind === 'module') queue.push(...r.modules);
    }
  }
  return keep;
}
