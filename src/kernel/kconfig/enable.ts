import { evalExpr, formatExpr, type Expr, type Tristate } from './expr.js';
import { hasPrompt, isDefined, type KconfigTree, type SymbolDefinition } from './parse-kconfig.js';

/**
 * Plans which options a fragment must set so that some symbols end up =y, on top of a base
 * (tinyconfig) where every option a user can set is off. It follows Kconfig's rules for the
 * cases kernels use: `depends on A && B` needs both; `A || B` keeps one that already holds, else
 * takes the first that can; `!X` (and `X=n`) needs X off; an option without a prompt is on when a
 * default or an option selecting it is. The plan is a hypothesis: the real olddefconfig decides,
 * and checkBuiltins reads its outcome.
 */

/** Why a symbol cannot be y: the chain from the requested symbol down to the dependency that fails. */
export interface Unmet {
  chain: string[];
  /** The expression that cannot hold, as Kconfig writes it. */
  unmet: string;
  /** Where it is written. */
  at?: { file: string; line: number };
  reason: string;
}

type Value = 'y' | 'n';

export class EnablePlan {
  /** Options the plan sets: y, or n for one that `!X` needs off. */
  readonly assigned = new Map<string, Value>();
  /** Why each assigned option is in the plan (the option that needed it). */
  readonly neededBy = new Map<string, string>();
  private computing = new Set<string>();

  constructor(readonly tree: KconfigTree) {}

  /** The value the plan expects a symbol to have (unset options off, as in tinyconfig). */
  valueOf = (name: string): Tristate => {
    const a = this.assigned.get(name);
    if (a) return a;
    const sym = this.tree.symbols.get(name);
    if (!sym || this.computing.has(name)) return 'n';
    this.computing.add(name);
    try {
      for (const sel of sym.selectedBy)
        if (this.assigned.get(sel.symbol) === 'y' && (!sel.cond || evalExpr(sel.cond, this.valueOf) !== 'n'))
          return 'y';
      for (const def of sym.definitions) {
        if (def.prompt && (!def.prompt.cond || evalExpr(def.prompt.cond, this.valueOf) !== 'n')) continue;
        if (def.deps && evalExpr(def.deps, this.valueOf) === 'n') continue;
        for (const d of def.defaults)
          if (!d.cond || evalExpr(d.cond, this.valueOf) !== 'n') {
            const v = evalExpr(d.value, this.valueOf);
            if (v !== 'n') return v;
            break;
          }
      }
      return 'n';
    } finally {
      this.computing.delete(name);
    }
  };

  /** Whether a prompt of the symbol shows under the plan (a user or fragment can set it). */
  private visible(name: string): boolean {
    return (this.tree.symbols.get(name)?.definitions ?? []).some(
      (d) => d.prompt && (!d.prompt.cond || evalExpr(d.prompt.cond, this.valueOf) !== 'n'),
    );
  }

  private snapshot(): [Map<string, Value>, Map<string, string>] {
    return [new Map(this.assigned), new Map(this.neededBy)];
  }

  private restore([a, n]: [Map<string, Value>, Map<string, string>]): void {
    this.assigned.clear();
    for (const [k, v] of a) this.assigned.set(k, v);
    this.neededBy.clear();
    for (const [k, v] of n) this.neededBy.set(k, v);
  }

  /** Plans `name`=y; on failure the plan is as it was and the reason is returned. */
  enable(name: string, by?: string): Unmet | undefined {
    const saved = this.snapshot();
    const unmet = this.enableSymbol(name, by, []);
    if (unmet) this.restore(saved);
    return unmet;
  }

  private enableSymbol(name: string, by: string | undefined, chain: readonly string[]): Unmet | undefined {
    const here = [...chain, name];
    const current = this.assigned.get(name);
    if (current === 'y') return undefined;
    if (current === 'n')
      return {
        chain: here,
        unmet: `!${name}`,
        reason: `${this.neededBy.get(name) ?? 'another option'} needs ${name} off`,
      };
    const sym = this.tree.symbols.get(name);
    if (!sym || !isDefined(this.tree, name))
      return { chain: here, unmet: name, reason: `${name} is not defined for x86_64 (no Kconfig entry)` };
    if (sym.type && sym.type !== 'bool' && sym.type !== 'tristate')
      return { chain: here, unmet: name, reason: `${name} is a ${sym.type} option, not a yes/no one` };
    if (this.valueOf(name) === 'y' && !this.visible(name)) return undefined;
    this.assigned.set(name, 'y');
    if (by) this.neededBy.set(name, by);
    let first: Unmet | undefined;
    // An option a user can set: one of its prompted definitions must have its dependencies met.
    for (const def of sym.definitions.filter((d) => d.prompt)) {
      const saved = this.snapshot();
      const unmet =
        this.satisfy(def.deps, def, name, here) ?? this.satisfy(def.prompt?.cond, def, name, here);
      if (!unmet) return undefined;
      this.restore(saved);
      first ??= unmet;
    }
    // A default that can hold (64BIT's prompt is hidden on x86_64, its default is y), else an
    // option that selects it.
    for (const def of sym.definitions) {
      for (const d of def.defaults) {
        if (d.value.kind === 'const' && d.value.value === 'n') continue;
        const saved = this.snapshot();
        const unmet =
          this.satisfy(def.deps, def, name, here) ??
          this.satisfy(d.cond, def, name, here) ??
          this.satisfy(d.value, def, name, here);
        if (!unmet) return undefined;
        this.restore(saved);
        first ??= unmet;
      }
    }
    // Of the options selecting it, the one that turns on the fewest others (nfnetlink is
    // selected by nftables and by the small netlink accounting option alike).
    let best: { size: number; state: ReturnType<EnablePlan['snapshot']> } | undefined;
    for (const sel of sym.selectedBy) {
      const saved = this.snapshot();
      const unmet =
        this.enableSymbol(sel.symbol, name, here) ??
        this.satisfy(sel.cond, { file: sel.file, line: sel.line }, name, here);
      if (!unmet && (!best || this.assigned.size < best.size))
        best = { size: this.assigned.size, state: this.snapshot() };
      if (unmet) first ??= unmet;
      this.restore(saved);
    }
    if (best) {
      this.restore(best.state);
      return undefined;
    }
    this.assigned.delete(name);
    return (
      first ?? {
        chain: here,
        unmet: name,
        reason: `${name} has no prompt, no default and nothing selects it`,
        at: sym.definitions[0],
      }
    );
  }

  /** Plans what makes `e` y; the reason when nothing can. */
  private satisfy(
    e: Expr | undefined,
    at: Pick<SymbolDefinition, 'file' | 'line'>,
    owner: string,
    chain: readonly string[],
  ): Unmet | undefined {
    if (!e) return undefined;
    // Not short-cut when e already holds: a symbol it needs on or off is written down, so the
    // fragment says so even where the base already agrees.
    const holds = evalExpr(e, this.valueOf) === 'y';
    const fail = (reason: string, expr: Expr = e): Unmet => ({
      chain: [...chain],
      unmet: formatExpr(expr),
      at: { file: at.file, line: at.line },
      reason,
    });
    switch (e.kind) {
      case 'symbol': {
        const unmet = this.enableSymbol(e.name, owner, chain);
        // An undefined symbol has no place of its own: name the entry that depends on it.
        if (unmet && !unmet.at) unmet.at = { file: at.file, line: at.line };
        return unmet;
      }
      case 'const':
        if (holds) return undefined;
        return fail(e.value === 'm' ? `${owner} can only be a module there` : `it is never true`);
      case 'and':
        return this.satisfy(e.left, at, owner, chain) ?? this.satisfy(e.right, at, owner, chain);
      case 'or': {
        if (holds) return undefined;
        let first: Unmet | undefined;
        for (const side of [e.left, e.right]) {
          const saved = this.snapshot();
          const unmet = this.satisfy(side, at, owner, chain);
          if (!unmet) return undefined;
          this.restore(saved);
          first ??= unmet;
        }
        return first;
      }
      case 'not':
        if (e.arg.kind === 'symbol') return this.disable(e.arg.name, owner, chain, e, at);
        return holds ? undefined : fail(`it does not hold`);
      case 'cmp': {
        const sym = e.left.kind === 'symbol' ? e.left : e.right.kind === 'symbol' ? e.right : undefined;
        const other = sym === e.left ? e.right : e.left;
        if (sym && other.kind === 'const' && ['y', 'n', 'm'].includes(other.value)) {
          const wantsOn = (e.op === '=' && other.value === 'y') || (e.op === '!=' && other.value === 'n');
          const wantsOff = (e.op === '=' && other.value === 'n') || (e.op === '!=' && other.value === 'y');
          if (wantsOn) return this.enableSymbol(sym.name, owner, chain);
          if (wantsOff) return this.disable(sym.name, owner, chain, e, at);
          return holds ? undefined : fail(`${sym.name} would have to be a module`);
        }
        return holds ? undefined : fail(`it does not hold on x86_64`);
      }
    }
  }

  private disable(
    name: string,
    owner: string,
    chain: readonly string[],
    e: Expr,
    at: Pick<SymbolDefinition, 'file' | 'line'>,
  ): Unmet | undefined {
    const current = this.assigned.get(name);
    const fail = (reason: string): Unmet => ({
      chain: [...chain],
      unmet: formatExpr(e),
      at: { file: at.file, line: at.line },
      reason,
    });
    if (current === 'y')
      return fail(`${name} must be off, but ${this.neededBy.get(name) ?? 'the request'} needs it on`);
    if (current === 'n') return undefined;
    if (this.valueOf(name) !== 'n' && !hasPrompt(this.tree, name)) return fail(`${name} is always on`);
    this.assigned.set(name, 'n');
    this.neededBy.set(name, owner);
    return undefined;
  }
}
