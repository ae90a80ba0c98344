import { relative, isAbsolute } from 'node:path';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
} from 'yaml';
import type { Diagnostic } from '../errors.js';
import { limitDiagnostic, SPEC_LIMITS, scanDepth } from './limits.js';

/**
 * A parsed spec file: the value, plus what we need to turn a JSON pointer back into a
 * line and column. JSON is parsed by the YAML parser too (JSON is YAML 1.2 flow syntax), so
 * both formats get the same positions.
 */
export interface SpecDocument {
  /** Absolute path. */
  readonly file: string;
  /** The path diagnostics print: relative to the cwd when the file is inside it. */
  readonly shownAs: string;
  readonly value: unknown;
  readonly empty: boolean;
  readonly errors: Diagnostic[];
  readonly warnings: Diagnostic[];
  /** Line and column (1-based) of the value at `pointer`, or of its key with `key: true`. */
  positionOf(pointer: string, opts?: { key?: boolean }): { line: number; col: number };
}

export function showPath(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

export function parsePointer(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function joinPointer(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** A document that could not be parsed: one diagnostic, no value. */
function failedDocument(file: string, shownAs: string, error: Diagnostic): SpecDocument {
  return {
    file,
    shownAs,
    value: undefined,
    empty: false,
    errors: [error],
    warnings: [],
    positionOf: () => ({ line: error.line, col: error.col }),
  };
}

/** Line and column (1-based) of an offset, without a parser. */
function positionAt(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

export function parseSpecText(file: string, text: string): SpecDocument {
  const shownAs = showPath(file);
  // The parser recurses: measure the nesting before handing it a file that would overflow it.
  const deep = scanDepth(text);
  if (deep.offset >= 0)
    return failedDocument(
      file,
      shownAs,
      limitDiagnostic(
        shownAs,
        positionAt(text, deep.offset),
        '',
        `nested more than ${SPEC_LIMITS.depth} levels deep: a repo spec is a few levels of maps and lists`,
      ),
    );
  const lineCounter = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return failedDocument(
      file,
      shownAs,
      limitDiagnostic(shownAs, { line: 1, col: 1 }, '', `too complex to parse (${err.message})`),
    );
  }
  const toPos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const jsonSyntaxError = (source: string): Diagnostic | undefined => {
    try {
      JSON.parse(source);
    } catch (err) {
      const m = /^(.*) in JSON at position (\d+)/.exec((err as Error).message);
      if (m) return { file: shownAs, ...toPos(Number(m[2])), pointer: '', message: m[1]!, rule: 'parse' };
    }
    return undefined;
  };
  const fromYamlError = (e: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }) => {
    const at = e.linePos?.[0] ?? { line: 1, col: 1 };
    // The YAML message repeats the position and quotes the source below it: keep the first clause.
    const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return { file: shownAs, line: at.line, col: at.col, pointer: '', message, rule: 'parse' };
  };
  const empty = doc.contents === null;
  let value: unknown;
  const limitErrors: Diagnostic[] = [];
  if (doc.errors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: SPEC_LIMITS.aliases });
    } catch (err) {
      // yaml throws for an alias bomb ("Excessive alias count"): a diagnostic at the first alias.
      let at: number | undefined;
      visit(doc, {
        Alias(_, node) {
          at = node.range?.[0];
          return visit.BREAK;
        },
      });
      limitErrors.push(
        limitDiagnostic(
          shownAs,
          at === undefined ? { line: 1, col: 1 } : toPos(at),
          '',
          `aliases expand too far (${(err as Error).message}; at most ${SPEC_LIMITS.aliases}): write the values out instead`,
        ),
      );
    }
  }
  // Later parse errors mostly echo the first one; for JSON, JSON.parse words it better when it can.
  const firstError = doc.errors.length
    ? (file.endsWith('.json') && jsonSyntaxError(text)) || fromYamlError(doc.errors[0]!)
    : undefined;
  return {
    file,
    shownAs,
    value: limitErrors.length ? undefined : value,
    empty,
    errors: firstError ? [firstError] : limitErrors,
    warnings: doc.warnings.map((w) => ({ ...fromYamlError(w), rule: 'parse' })),
    positionOf(pointer, opts = {}) {
      const found = locate(doc, parsePointer(pointer));
      const range = opts.key && found.keyNode ? found.keyNode.range : found.node?.range;
      return range ? toPos(range[0]) : { line: 1, col: 1 };
    },
  };
}

/** Walk the node tree along the pointer; stop at the deepest node that exists. */
function locate(doc: Document, segments: string[]): { node?: Node; keyNode?: Node } {
  let node = (doc.contents ?? undefined) as Node | undefined;
  let keyNode: Node | undefined;
  for (const seg of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === seg);
      if (!pair) return { node, keyNode: undefined };
      keyNode = pair.key as Node;
      node = (pair.value ?? pair.key) as Node;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (item === undefined) return { node };
      keyNode = undefined;
      node = item as Node;
    } else {
      return { node, keyNode };
    }
  }
  return { node, keyNode };
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}
