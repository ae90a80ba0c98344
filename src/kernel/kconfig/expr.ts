/**
 * Kconfig expressions (`depends on`, `select ... if`, `default ... if`): symbols, the constants
 * y/m/n, quoted strings and `$(...)` macros, `=` `!=` `<` `>` comparisons, `!`, `&&`, `||` and
 * parentheses, with Kconfig's precedence (! binds tightest, then comparisons, &&, ||).
 */

export type Expr =
  | { kind: 'symbol'; name: string }
  /** y, m, n, a quoted string, a number, or a `$(...)` macro we do not expand. */
  | { kind: 'const'; value: string; macro?: true }
  | { kind: 'not'; arg: Expr }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'cmp'; op: '=' | '!=' | '<' | '>' | '<=' | '>='; left: Expr; right: Expr };

const NUMBER = /^-?(0x[0-9a-f]+|[0-9]+)$/i;

export class ExprSyntaxError extends Error {}

const TOKEN =
  /\s*(\$\((?:[^()]|\([^()]*\))*\)|"(?:[^"\\]|\\.)*"|'[^']*'|&&|\|\||!=|<=|>=|[()!=<>]|[A-Za-z0-9_.\-+/]+)/y;

function tokenize(text: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const start = TOKEN.lastIndex;
    const macro = /^\s*\$\(/.exec(text.slice(start));
    if (macro) {
      // A `$(...)` macro runs to its balanced closing parenthesis (it may hold shell code).
      let depth = 0;
      let i = start + macro[0].length - 1;
      for (; i < text.length; i++) {
        if (text[i] === '(') depth++;
        else if (text[i] === ')' && --depth === 0) break;
      }
      out.push(text.slice(start, i + 1).trim());
      TOKEN.lastIndex = i + 1;
      continue;
    }
    const m = TOKEN.exec(text);
    if (!m) {
      if (text.slice(start).trim() === '') break;
      throw new ExprSyntaxError(`cannot read "${text.slice(start).trim()}" in "${text}"`);
    }
    out.push(m[1]!);
  }
  return out;
}

/** Parses one expression; throws ExprSyntaxError on text it cannot read. */
export function parseExpr(text: string): Expr {
  const tokens = tokenize(text);
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const take = (): string => {
    const t = tokens[i++];
    if (t === undefined) throw new ExprSyntaxError(`"${text}" ends early`);
    return t;
  };
  const or = (): Expr => {
    let left = and();
    while (peek() === '||') {
      i++;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const and = (): Expr => {
    let left = unary();
    while (peek() === '&&') {
      i++;
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };
  const unary = (): Expr => {
    if (peek() === '!') {
      i++;
      return { kind: 'not', arg: unary() };
    }
    const left = atom();
    const op = peek();
    if (op === '=' || op === '!=' || op === '<' || op === '>' || op === '<=' || op === '>=') {
      i++;
      return { kind: 'cmp', op, left, right: atom() };
    }
    return left;
  };
  const atom = (): Expr => {
    const t = take();
    if (t === '(') {
      const e = or();
      if (take() !== ')') throw new ExprSyntaxError(`unbalanced parentheses in "${text}"`);
      return e;
    }
    if (t.startsWith('$(')) return { kind: 'const', value: t, macro: true };
    if (t.startsWith('"') || t.startsWith("'")) return { kind: 'const', value: t.slice(1, -1) };
    // 64BIT is a symbol: only a whole number is a constant.
    if (t === 'y' || t === 'm' || t === 'n' || NUMBER.test(t)) return { kind: 'const', value: t };
    if (/^[A-Za-z0-9_]+$/.test(t)) return { kind: 'symbol', name: t };
    throw new ExprSyntaxError(`unexpected "${t}" in "${text}"`);
  };
  const e = or();
  if (i < tokens.length) throw new ExprSyntaxError(`unexpected "${tokens[i]}" in "${text}"`);
  return e;
}

/** The expression as Kconfig would write it (for messages). */
export function formatExpr(e: Expr, parent: Expr['kind'] | 'top' = 'top'): string {
  switch (e.kind) {
    case 'symbol':
      return e.name;
    case 'const':
      return e.macro || ['y', 'm', 'n'].includes(e.value) || /^-?[0-9]/.test(e.value)
        ? e.value
        : `"${e.value}"`;
    case 'not':
      return `!${formatExpr(e.arg, 'not')}`;
    case 'cmp':
      return `${formatExpr(e.left, 'cmp')}${e.op}${formatExpr(e.right, 'cmp')}`;
    case 'and':
    case 'or': {
      const s = `${formatExpr(e.left, e.kind)} ${e.kind === 'and' ? '&&' : '||'} ${formatExpr(e.right, e.kind)}`;
      return parent === 'top' || parent === e.kind ? s : `(${s})`;
    }
  }
}

/** Tristate values as Kconfig orders them. */
export type Tristate = 'n' | 'm' | 'y';
const RANK: Record<Tristate, number> = { n: 0, m: 1, y: 2 };
const TRI: readonly Tristate[] = ['n', 'm', 'y'];

/**
 * Evaluates `e` with `valueOf` giving each symbol's value (a tristate, or a string/number for
 * other types). A `$(...)` macro counts as y: it tests the toolchain, which the real olddefconfig
 * run decides; checkBuiltins reads the outcome from .config afterwards.
 */
export function evalExpr(e: Expr, valueOf: (symbol: string) => string): Tristate {
  switch (e.kind) {
    case 'symbol':
      return toTristate(valueOf(e.name));
    case 'const':
      return e.macro ? 'y' : toTristate(e.value);
    case 'not':
      return TRI[2 - RANK[evalExpr(e.arg, valueOf)]]!;
    case 'and': {
      const a = evalExpr(e.left, valueOf);
      const b = evalExpr(e.right, valueOf);
      return RANK[a] < RANK[b] ? a : b;
    }
    case 'or': {
      const a = evalExpr(e.left, valueOf);
      const b = evalExpr(e.right, valueOf);
      return RANK[a] > RANK[b] ? a : b;
    }
    case 'cmp': {
      const l = operand(e.left, valueOf);
      const r = operand(e.right, valueOf);
      const num = /^-?(0x)?[0-9a-f]+$/i.test(l) && /^-?(0x)?[0-9a-f]+$/i.test(r);
      const c = num ? Number(l) - Number(r) : l < r ? -1 : l > r ? 1 : 0;
      const ok = { '=': c === 0, '!=': c !== 0, '<': c < 0, '>': c > 0, '<=': c <= 0, '>=': c >= 0 }[e.op];
      return ok ? 'y' : 'n';
    }
  }
}

function operand(e: Expr, valueOf: (symbol: string) => string): string {
  if (e.kind === 'symbol') return valueOf(e.name) || 'n';
  if (e.kind === 'const') return e.value;
  return evalExpr(e, valueOf);
}

function toTristate(v: string): Tristate {
  return v === 'y' || v === 'm' ? v : 'n';
}

/** Every symbol an expression names. */
export function exprSymbols(e: Expr, out: Set<string> = new Set()): Set<string> {
  if (e.kind === 'symbol') out.add(e.name);
  else if (e.kind === 'not') exprSymbols(e.arg, out);
  else if (e.kind !== 'const') {
    exprSymbols(e.left, out);
    exprSymbols(e.right, out);
  }
  return out;
}

export const TRUE: Expr = { kind: 'const', value: 'y' };

/** `a && b`, dropping a constant y on either side. */
export function andExpr(a: Expr | undefined, b: Expr | undefined): Expr | undefined {
  if (!a || (a.kind === 'const' && a.value === 'y' && !a.macro)) return b;
  if (!b || (b.kind === 'const' && b.value === 'y' && !b.macro)) return a;
  return { kind: 'and', left: a, right: b };
}
