/**
 * The Kconfig layer of a kernel built from source: presets, fragment checks, and turning the
 * drivers array into built-in (=y) options. The kernel stage calls these before `make`, so a
 * misspelled driver or an option that can never be on fails in seconds, not after a build.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { KernelConfigError, UsageError, type KernelConfigProblem } from '../../errors.js';
import { findNearest } from '../../spec/suggest.js';
import { EnablePlan, type Unmet } from './enable.js';
import { evalExpr, formatExpr, exprSymbols, type Expr } from './expr.js';
import { normaliseModuleName, readMakefiles, type ObjectRule } from './makefiles.js';
import { hasPrompt, isDefined, readKconfig, type KconfigTree } from './parse-kconfig.js';

/**
 * A driver to build in. Where it was asked for (init.sh, the spec, VIC's common list) is not
 * here: the build places the problems it is named in (src/drivers/check.ts placeKernelProblems).
 */
export interface DriverRequest {
  /** Module name as `modprobe` spells it (dashes or underscores). */
  name: string;
  /** Names the same driver has in other kernels, tried in order when no Makefile builds `name`. */
  orElse?: readonly string[];
}

/** A driver and the Kconfig symbol (without CONFIG_) whose Makefile line builds it. */
export interface DriverSymbol {
  /** The name the tree builds it as (the request's, or one of its orElse names). */
  driver: string;
  /** '' when `always` is set. */
  symbol: string;
  /** Path of the Makefile/Kbuild relative to the source tree. */
  makefile: string;
  line: number;
  /** Built into every kernel (`obj-y` in a folder every build reaches): nothing to enable. */
  always?: true;
}

/** A requested symbol that did not end `=y` after olddefconfig, with the reason read from Kconfig. */
export interface BuiltinProblem {
  driver: string;
  symbol: string;
  /** `y`, `m` or `n` (unset). */
  value: 'y' | 'm' | 'n';
  /** The dependency expression (or selecting symbol) that is not met, as Kconfig writes it. */
  unmet: string;
  message: string;
}

export const KERNEL_PRESETS = ['microvm', 'iso'] as const;
export type KernelPresetName = (typeof KERNEL_PRESETS)[number];

export interface KernelPreset {
  name: KernelPresetName;
  base: 'tinyconfig' | 'defconfig';
  /**
   * What its kernel boots on. microvm: Firecracker and qemu -M microvm only (no PCI, no disk
   * controller, no EFI stub), so the microVM targets; pc: a PC under BIOS and UEFI as well (ISOs, disks).
   */
  machine: 'microvm' | 'pc';
  /** Absolute path of the shipped fragment (templates/kernel/<name>.config). */
  fragment: string;
}

/** Each preset's base and machine; its fragment is templates/kernel/<name>.config. */
const PRESETS: Record<KernelPresetName, Pick<KernelPreset, 'base' | 'machine'>> = {
  microvm: { base: 'tinyconfig', machine: 'microvm' },
  iso: { base: 'tinyconfig', machine: 'pc' },
};

/** templates/kernel/, from src/kernel/kconfig/ or dist/kernel/kconfig/ alike. */
export const KERNEL_TEMPLATES = fileURLToPath(new URL('../../../templates/kernel/', import.meta.url));

/**
 * Of the objects with a driver's name, the one most likely its module: a tristate symbol's (only
 * those build modules: drivers/of's bool OF_OVERLAY builds an overlay.o too, overlayfs's
 * OVERLAY_FS the module), then one x86_64 defines, then any own symbol, then `obj-y`.
 */
function pickRule(tree: KconfigTree, rules: readonly ObjectRule[]): ObjectRule {
  const rank = (r: ObjectRule): number =>
    r.always
      ? 3
      : !r.symbol || !isDefined(tree, r.symbol)
        ? 2
        : tree.symbols.get(r.symbol)?.type === 'tristate'
          ? 0
          : 1;
  return [...rules].sort((a, b) => rank(a) - rank(b))[0]!;
}

/**
 * Maps module names to the Kconfig symbol that builds them, from the tree's Makefiles/Kbuild.
 * Every unknown driver is one problem of the KernelConfigError thrown, with where it was asked
 * for and the nearest module name the tree builds.
 */
export async function driverSymbols(
  sourceDir: string,
  drivers: readonly DriverRequest[],
): Promise<DriverSymbol[]> {
  const [index, tree] = await Promise.all([readMakefiles(sourceDir), readKconfig(sourceDir)]);
  const out: DriverSymbol[] = [];
  const problems: KernelConfigProblem[] = [];
  for (const req of drivers) {
    const names = [req.name, ...(req.orElse ?? [])].map(normaliseModuleName);
    const name = names.find((n) => index.objects.has(n));
    if (!name) {
      const wanted = names[0]!;
      const whole = index.partOf.get(wanted);
      const near = findNearest(wanted, [...index.objects.keys()]);
      problems.push({
        driver: req.name,
        message: `driver "${req.name}": no Makefile of the kernel source builds a module of that name`,
        suggestion: whole
          ? `${wanted}.o is linked into ${whole.map((w) => `"${w}"`).join(', ')}: ask for that`
          : near
            ? `did you mean "${near}"?`
            : undefined,
      });
      continue;
    }
    const rule = pickRule(tree, index.objects.get(name)!);
    out.push({
      driver: name,
      symbol: rule.symbol ?? '',
      makefile: rule.file,
      line: rule.line,
      ...(rule.symbol ? {} : { always: true as const }),
    });
  }
  if (problems.length) throw new KernelConfigError(problems);
  return out;
}

function describeUnmet(s: DriverSymbol, u: Unmet): string {
  const path = u.chain.length > 1 ? `${u.chain.join(' → ')}: ` : '';
  const at = u.at ? ` (${u.at.file}:${u.at.line})` : '';
  return (
    `driver "${s.driver}": CONFIG_${s.symbol} (${s.makefile}:${s.line}) cannot be built in: ` +
    `${path}"${u.unmet}"${at} cannot be met: ${u.reason}`
  );
}

/** The requested symbol an option of the plan is there for (neededBy is a driver's name at the top). */
function rootOf(plan: EnablePlan, name: string): string {
  let at = name;
  for (let seen = 0; seen < 100; seen++) {
    const by = plan.neededBy.get(at);
    if (!by || !plan.assigned.has(by)) return at;
    at = by;
  }
  return at;
}

/**
 * A Kconfig fragment setting each symbol and the dependencies it needs =y (and `# ... is not set`
 * for an option a `!X` dependency needs off), to merge after the base and the preset. Throws a
 * KernelConfigError naming driver, symbol and the dependency that can never hold.
 */
export async function builtinFragment(sourceDir: string, symbols: readonly DriverSymbol[]): Promise<string> {
  const tree = await readKconfig(sourceDir);
  const plan = new EnablePlan(tree);
  const problems: KernelConfigProblem[] = [];
  const wanted = symbols.filter((s) => !s.always);
  // Options a user can set first: the ones without a prompt are mostly selected by them.
  const ordered = [
    ...wanted.filter((s) => hasPrompt(tree, s.symbol)),
    ...wanted.filter((s) => !hasPrompt(tree, s.symbol)),
  ];
  for (const s of ordered) {
    const unmet = plan.enable(s.symbol, s.driver);
    if (!unmet) continue;
    problems.push({
      driver: s.driver,
      symbol: s.symbol,
      message: describeUnmet(s, unmet),
      suggestion: /not defined for x86_64/.test(unmet.reason)
        ? `remove "${s.driver}" from the drivers: it cannot be built for x86_64`
        : `remove "${s.driver}" from the drivers, or build it as a module`,
    });
  }
  // A later driver may have broken what an earlier one needed (IPV6 on under `IPV6=n`).
  for (const [name, unmet] of plan.mend()) {
    const s = wanted.find((w) => w.symbol === rootOf(plan, name)) ?? wanted[0]!;
    problems.push({
      driver: s.driver,
      symbol: s.symbol,
      message: describeUnmet(s, unmet),
      suggestion: `remove "${s.driver}" from the drivers, or build it as a module`,
    });
  }
  if (problems.length) throw new KernelConfigError(problems);
  const lines = [
    '# Built-in drivers (isobuild: builtin "drivers"), with the options they depend on.',
    ...wanted.map((s) => `#   ${s.driver}: CONFIG_${s.symbol} (${s.makefile}:${s.line})`),
  ];
  for (const [name, value] of plan.assigned) {
    if (!hasPrompt(tree, name)) continue;
    lines.push(value === 'y' ? `CONFIG_${name}=y` : `# CONFIG_${name} is not set`);
  }
  return lines.join('\n') + '\n';
}

/** `CONFIG_X=value` and `# CONFIG_X is not set` lines of a .config or a fragment, with their line numbers. */
function readAssignments(text: string): { name: string; value: string; line: number }[] | { bad: number[] } {
  const out: { name: string; value: string; line: number }[] = [];
  const bad: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const set = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    const unset = /^#\s*CONFIG_([A-Za-z0-9_]+) is not set$/.exec(line);
    if (set) out.push({ name: set[1]!, value: set[2]!.replace(/^"(.*)"$/, '$1'), line: i + 1 });
    else if (unset) out.push({ name: unset[1]!, value: 'n', line: i + 1 });
    else if (line !== '' && !line.startsWith('#')) bad.push(i + 1);
  });
  return bad.length ? { bad } : out;
}

/** The smallest part of `e` that keeps it from being y under `valueOf`. */
function unmetPart(e: Expr, valueOf: (s: string) => string): Expr {
  if (e.kind === 'and')
    return evalExpr(e.left, valueOf) !== 'y' ? unmetPart(e.left, valueOf) : unmetPart(e.right, valueOf);
  return e;
}

/**
 * After olddefconfig: each requested symbol must be =y. Returns one problem per symbol that is
 * not, naming the dependency that is not met in that .config (a path) as Kconfig writes it.
 */
export async function checkBuiltins(
  sourceDir: string,
  dotConfig: string,
  symbols: readonly DriverSymbol[],
): Promise<BuiltinProblem[]> {
  const tree = await readKconfig(sourceDir);
  const parsed = readAssignments(await readFile(dotConfig, 'utf8'));
  const values = new Map(Array.isArray(parsed) ? parsed.map((a) => [a.name, a.value]) : []);
  const valueOf = (s: string): string => values.get(s) ?? 'n';
  const problems: BuiltinProblem[] = [];
  for (const s of symbols) {
    if (s.always) continue;
    const raw = valueOf(s.symbol);
    if (raw === 'y') continue;
    const value = raw === 'm' ? 'm' : 'n';
    const defs = tree.symbols.get(s.symbol)?.definitions ?? [];
    let unmet = '';
    let at = '';
    for (const def of defs) {
      const part =
        def.deps && evalExpr(def.deps, valueOf) !== 'y'
          ? unmetPart(def.deps, valueOf)
          : def.prompt?.cond && evalExpr(def.prompt.cond, valueOf) !== 'y'
            ? unmetPart(def.prompt.cond, valueOf)
            : undefined;
      if (!part) continue;
      const vals = [...exprSymbols(part)].map((n) => `${n}=${valueOf(n)}`).join(', ');
      unmet = formatExpr(part);
      at = `depends on "${unmet}" (${def.file}:${def.line}), and ${vals}`;
      break;
    }
    if (!unmet && !hasPrompt(tree, s.symbol)) {
      const by = [...new Set(tree.symbols.get(s.symbol)?.selectedBy.map((b) => b.symbol) ?? [])];
      unmet = by.join(' || ') || s.symbol;
      at = by.length ? `has no prompt and nothing that selects it is on (${by.join(', ')})` : 'has no prompt';
    }
    if (!unmet) {
      unmet = s.symbol;
      at = `its dependencies hold, but the configuration sets it to ${value} (a later fragment?)`;
    }
    problems.push({
      driver: s.driver,
      symbol: s.symbol,
      value,
      unmet,
      message: `driver "${s.driver}": CONFIG_${s.symbol} is ${value === 'm' ? '=m' : 'not set'} after olddefconfig, not =y: it ${at}`,
    });
  }
  return problems;
}

/** Every line of a fragment must set or unset a symbol the tree defines; a KernelConfigError names the others. */
export async function checkFragment(sourceDir: string, fragmentFile: string): Promise<void> {
  const tree = await readKconfig(sourceDir);
  const parsed = readAssignments(await readFile(fragmentFile, 'utf8'));
  if (!Array.isArray(parsed))
    throw new KernelConfigError(
      parsed.bad.map((line) => ({
        file: fragmentFile,
        line,
        message: 'not a Kconfig line',
        suggestion: 'write CONFIG_NAME=value or # CONFIG_NAME is not set',
      })),
    );
  const names = [...tree.symbols.keys()].filter((n) => isDefined(tree, n));
  const problems: KernelConfigProblem[] = parsed
    .filter((a) => !isDefined(tree, a.name))
    .map((a) => {
      const near = findNearest(a.name, names);
      return {
        file: fragmentFile,
        line: a.line,
        symbol: a.name,
        message: `CONFIG_${a.name} is not a Kconfig option of this kernel (x86_64)`,
        suggestion: near ? `did you mean CONFIG_${near}?` : undefined,
      };
    });
  if (problems.length) throw new KernelConfigError(problems);
}

/** The presets: name → base config and shipped fragment; an unknown name is a UsageError. */
export function kernelPreset(name: string): KernelPreset {
  if (!(KERNEL_PRESETS as readonly string[]).includes(name)) {
    const near = findNearest(name, KERNEL_PRESETS);
    throw new UsageError(
      `unknown kernel preset "${name}"${near ? ` (did you mean "${near}"?)` : ''}; presets: ${KERNEL_PRESETS.join(', ')}`,
    );
  }
  const preset = name as KernelPresetName;
  return { name: preset, ...PRESETS[preset], fragment: `${KERNEL_TEMPLATES}${preset}.config` };
}
