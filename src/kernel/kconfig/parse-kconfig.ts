import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { KernelConfigError } from '../../errors.js';
import { andExpr, ExprSyntaxError, parseExpr, type Expr } from './expr.js';

/**
 * The Kconfig tree of a kernel source, read the way `make ARCH=x86_64 *config` reads it: enough
 * of the language to know what each symbol depends on, what selects it and whether a user can
 * set it (its prompt). Ranges, help texts and `imply` do not decide whether an option can be y.
 */

/** Where a line of a Kconfig file or Makefile is, relative to the source tree. */
export interface SourceLine {
  file: string;
  line: number;
}

export interface SymbolDefinition extends SourceLine {
  /** Its own `depends on` and those of the enclosing `if`, `menu` and `choice` blocks. */
  deps?: Expr;
  /** Set when the entry has a prompt, i.e. a user (or a fragment) can set it. */
  prompt?: { cond?: Expr };
  defaults: { value: Expr; cond?: Expr }[];
  selects: { symbol: string; cond?: Expr }[];
  inChoice: boolean;
}

export interface KconfigSymbol {
  name: string;
  type?: 'bool' | 'tristate' | 'string' | 'int' | 'hex';
  definitions: SymbolDefinition[];
  /** Entries that `select` this symbol. */
  selectedBy: (SourceLine & { symbol: string; cond?: Expr; deps?: Expr })[];
}

export interface KconfigTree {
  sourceDir: string;
  symbols: Map<string, KconfigSymbol>;
}

/** The architecture the tree is read for: the only one isobuild builds kernels for. */
export const KCONFIG_ENV: Readonly<Record<string, string>> = { SRCARCH: 'x86', ARCH: 'x86_64' };

const TYPES = new Set(['bool', 'tristate', 'string', 'int', 'hex']);

/** Splits `text if cond` at the first `if` outside quotes and parentheses. */
function splitIf(text: string): [string, string | undefined] {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && /\sif\s/.test(text.slice(i, i + 4)))
      return [text.slice(0, i).trim(), text.slice(i + 4).trim()];
  }
  return [text.trim(), undefined];
}

function expandVars(text: string): string {
  return text.replace(/\$\((SRCARCH|ARCH)\)/g, (_, v: string) => KCONFIG_ENV[v]!);
}

interface Block {
  kind: 'if' | 'menu' | 'choice';
  deps?: Expr;
}

type Item =
  | { kind: 'config'; def: SymbolDefinition; own?: Expr; symbol: KconfigSymbol }
  | { kind: 'block'; block: Block }
  | { kind: 'other' };

class Parser {
  readonly symbols = new Map<string, KconfigSymbol>();
  constructor(readonly sourceDir: string) {}

  symbol(name: string): KconfigSymbol {
    let s = this.symbols.get(name);
    if (!s) this.symbols.set(name, (s = { name, definitions: [], selectedBy: [] }));
    return s;
  }

  private texts = new Map<string, Promise<string | undefined>>();

  /**
   * A Kconfig file's text (undefined when it does not exist). Reading starts the reads of the
   * files it sources, so the ~1,600 files of a tree are read at once instead of one by one.
   */
  private read(path: string): Promise<string | undefined> {
    let text = this.texts.get(path);
    if (!text) {
      text = readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      this.texts.set(path, text);
      void text.then((t) => {
        for (const m of t?.matchAll(/^\s*(o?r?source)\s+"([^"]*)"/gm) ?? [])
          void this.read(this.sourcePath(m[1]!, expandVars(m[2]!), path)).catch(() => undefined);
      });
    }
    return text;
  }

  private sourcePath(keyword: string, rel: string, from: string): string {
    return join(keyword.startsWith('r') || keyword.startsWith('or') ? dirname(from) : this.sourceDir, rel);
  }

  async parseFile(path: string, outer: readonly Block[], optional: boolean): Promise<void> {
    const text = await this.read(path);
    if (text === undefined) {
      if (optional) return;
      throw new KernelConfigError([
        { file: relative(this.sourceDir, path), message: 'Kconfig file not found' },
      ]);
    }
    const file = relative(this.sourceDir, path);
    const blocks = [...outer];
    let item: Item = { kind: 'other' };
    const finish = (): void => {
      if (item.kind === 'config') item.def.deps = andExpr(blockDeps(blocks), item.own);
      item = { kind: 'other' };
    };
    const lines = text.split('\n');
    let helpIndent: number | undefined | null = null; // null: not in help text
    for (let n = 0; n < lines.length; n++) {
      let raw = lines[n]!;
      const lineNo = n + 1;
      if (helpIndent !== null) {
        const indent = /^[ \t]*/.exec(raw)![0].replace(/\t/g, '        ').length;
        if (raw.trim() === '') continue;
        if (helpIndent === undefined) helpIndent = indent;
        if (indent >= helpIndent) continue;
        helpIndent = null;
      }
      while (raw.endsWith('\\') && n + 1 < lines.length) raw = raw.slice(0, -1) + ' ' + lines[++n]!;
      const line = raw
        .replace(/^\s+/, '')
        .replace(/\s+#.*$|^#.*$/, '')
        .trim();
      if (line === '') continue;
      const [, keyword = '', rest0 = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
      const rest = expandVars(rest0);
      const expr = (t: string): Expr => {
        try {
          return parseExpr(t);
        } catch (err) {
          if (!(err instanceof ExprSyntaxError)) throw err;
          throw new KernelConfigError([
            { file, line: lineNo, message: `cannot read Kconfig expression: ${err.message}` },
          ]);
        }
      };
      const cond = (t: string | undefined): Expr | undefined => (t === undefined ? undefined : expr(t));
      switch (keyword) {
        case 'config':
        case 'menuconfig': {
          finish();
          const symbol = this.symbol(rest.trim());
          const def: SymbolDefinition = {
            file,
            line: lineNo,
            defaults: [],
            selects: [],
            inChoice: blocks.some((b) => b.kind === 'choice'),
          };
          symbol.definitions.push(def);
          item = { kind: 'config', def, symbol };
          break;
        }
        case 'choice':
          finish();
          blocks.push({ kind: 'choice' });
          item = { kind: 'block', block: blocks[blocks.length - 1]! };
          break;
        case 'menu':
          finish();
          blocks.push({ kind: 'menu' });
          item = { kind: 'block', block: blocks[blocks.length - 1]! };
          break;
        case 'if':
          finish();
          blocks.push({ kind: 'if', deps: expr(rest) });
          break;
        case 'endchoice':
        case 'endmenu':
        case 'endif':
          finish();
          blocks.pop();
          break;
        case 'comment':
        case 'mainmenu':
          finish();
          break;
        case 'source':
        case 'rsource':
        case 'osource':
        case 'orsource': {
          finish();
          const target = /^"([^"]*)"|^(\S+)/.exec(rest);
          const rel = target?.[1] ?? target?.[2] ?? '';
          await this.parseFile(this.sourcePath(keyword, rel, path), blocks, keyword.startsWith('o'));
          break;
        }
        case 'help':
        case '---help---':
          helpIndent = undefined;
          break;
        case 'depends': {
          const d = expr(rest.replace(/^on\s+/, ''));
          if (item.kind === 'config') item.own = andExpr(item.own, d);
          else if (item.kind === 'block') item.block.deps = andExpr(item.block.deps, d);
          break;
        }
        case 'visible':
          if (item.kind === 'block')
            item.block.deps = andExpr(item.block.deps, expr(rest.replace(/^if\s+/, '')));
          break;
        case 'prompt':
          if (item.kind === 'config') item.def.prompt = { cond: cond(splitIf(rest)[1]) };
          break;
        case 'default':
        case 'def_bool':
        case 'def_tristate': {
          if (item.kind !== 'config') break;
          const [value, c] = splitIf(rest);
          item.def.defaults.push({ value: expr(value), cond: cond(c) });
          if (keyword !== 'default') item.symbol.type ??= keyword === 'def_bool' ? 'bool' : 'tristate';
          break;
        }
        case 'select': {
          if (item.kind !== 'config') break;
          const [target, c] = splitIf(rest);
          item.def.selects.push({ symbol: target, cond: cond(c) });
          break;
        }
        default:
          if (TYPES.has(keyword) && item.kind === 'config') {
            item.symbol.type ??= keyword as KconfigSymbol['type'];
            const [prompt, c] = splitIf(rest);
            if (prompt.startsWith('"') || prompt.startsWith("'")) item.def.prompt = { cond: cond(c) };
          }
        // imply, range, option, modules, transitional, macro assignments: nothing to do.
      }
    }
    finish();
  }

  /** Fills each symbol's selectedBy from the selects (after every file is read). */
  linkSelects(): void {
    for (const s of this.symbols.values())
      for (const def of s.definitions)
        for (const sel of def.selects)
          this.symbol(sel.symbol).selectedBy.push({
            file: def.file,
            line: def.line,
            symbol: s.name,
            cond: sel.cond,
            deps: def.deps,
          });
  }
}

function blockDeps(blocks: readonly Block[]): Expr | undefined {
  return blocks.reduce<Expr | undefined>((acc, b) => andExpr(acc, b.deps), undefined);
}

const trees = new Map<string, Promise<KconfigTree>>();

/** The tree's Kconfig, read once per source folder and process. */
export function readKconfig(sourceDir: string): Promise<KconfigTree> {
  let tree = trees.get(sourceDir);
  if (!tree) {
    tree = (async () => {
      const parser = new Parser(sourceDir);
      await parser.parseFile(join(sourceDir, 'Kconfig'), [], false);
      parser.linkSelects();
      return { sourceDir, symbols: parser.symbols };
    })();
    trees.set(sourceDir, tree);
    tree.catch(() => trees.delete(sourceDir));
  }
  return tree;
}

/** Defined somewhere in the tree (a symbol only named by `select`/`depends` is not). */
export function isDefined(tree: KconfigTree, name: string): boolean {
  return (tree.symbols.get(name)?.definitions.length ?? 0) > 0;
}

/** Has a prompt in some definition: a fragment can set it. */
export function hasPrompt(tree: KconfigTree, name: string): boolean {
  return tree.symbols.get(name)?.definitions.some((d) => d.prompt) ?? false;
}
