import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Diagnostic } from '../errors.js';
import { parsePointer, parseSpecText, showPath, type SpecDocument } from './document.js';
import { SPEC_FILE_NAMES } from './folder.js';

const EXTENDS = '/extends';

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A spec over its base: objects are merged key by key (recursively), anything else the spec
 * gives (arrays, strings, numbers, booleans) replaces the base's value whole.
 */
export function mergeSpecValues(base: Json, over: Json): Json {
  if (!isObject(base) || !isObject(over)) return over;
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? mergeSpecValues(base[k], v) : v;
  return out;
}

/** Whether the pointer names a value the document itself holds. */
function holds(value: Json, pointer: string): boolean {
  let at: Json = value;
  for (const seg of parsePointer(pointer)) {
    if (Array.isArray(at) && /^\d+$/.test(seg) && Number(seg) < at.length) at = at[Number(seg)];
    else if (isObject(at) && Object.hasOwn(at, seg)) at = at[seg];
    else return false;
  }
  return true;
}

/** The spec file `extends` names: a spec file, or a folder holding repo-spec.json / .yaml / .yml. */
async function findBaseFile(from: string, ref: string): Promise<string | undefined> {
  const target = resolve(dirname(from), ref);
  const st = await stat(target).catch(() => undefined);
  if (st?.isFile()) return target;
  if (!st?.isDirectory()) return undefined;
  for (const name of SPEC_FILE_NAMES) {
    const file = join(target, name);
    if ((await stat(file).catch(() => undefined))?.isFile()) return file;
  }
  return undefined;
}

export interface ExtendedDocument {
  doc: SpecDocument;
  errors: Diagnostic[];
  /** When the document extends a base: the base files (nearest first) and its own top-level fields. */
  extended?: { bases: string[]; ownFields: string[] };
}

/**
 * `extends: "../base"`: the document with its base chain merged under it (mergeSpecValues).
 * Positions stay the extending file's: a value only a base gives is placed at the `extends`
 * line. A missing base, a cycle or a base that does not parse is an error at that line. The
 * schema and the rules then check the merged document, as if it had been written whole.
 */
export async function resolveExtends(doc: SpecDocument): Promise<ExtendedDocument> {
  if (!isObject(doc.value) || doc.value.extends === undefined) return { doc, errors: [] };
  const at = doc.positionOf(EXTENDS);
  const error = (message: string): Diagnostic => ({
    file: doc.shownAs,
    ...at,
    pointer: EXTENDS,
    message,
    rule: 'extends',
  });
  const seen = [await realpath(doc.file).catch(() => doc.file)];
  let current: SpecDocument = doc;
  const chain: Json[] = [];
  const bases: string[] = [];
  while (isObject(current.value) && current.value.extends !== undefined) {
    const ref = current.value.extends;
    if (typeof ref !== 'string') return { doc, errors: [] }; // the schema says it is a string
    const via = current === doc ? '' : ` (through ${current.shownAs})`;
    const file = await findBaseFile(current.file, ref);
    if (!file)
      return {
        doc,
        errors: [
          error(
            `the base spec "${ref}"${via} does not exist: name a spec file or a folder holding ${SPEC_FILE_NAMES.join(', ')}`,
          ),
        ],
      };
    const real = await realpath(file);
    if (seen.includes(real))
      return {
        doc,
        errors: [
          error(
            `extends makes a cycle: ${[...seen, real].map((f) => showPath(f)).join(' → ')}; a base cannot extend a spec that extends it`,
          ),
        ],
      };
    seen.push(real);
    const base = parseSpecText(file, await readFile(file, 'utf8'));
    if (base.errors.length)
      return {
        doc,
        errors: [error(`the base spec ${base.shownAs}${via} does not parse`), ...base.errors],
      };
    chain.push(base.value ?? {});
    bases.push(file);
    current = base;
  }
  // Deepest base first; each spec over the one it extends. Only the spec's own `extends` stays.
  const strip = (v: Json): Json =>
    isObject(v) ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'extends')) : v;
  const merged = [...chain.reverse().map(strip), doc.value].reduce((acc, v) => mergeSpecValues(acc, v));
  const own = doc.value;
  return {
    doc: {
      ...doc,
      value: merged,
      positionOf: (pointer, opts) => (holds(own, pointer) ? doc.positionOf(pointer, opts) : at),
    },
    errors: [],
    extended: { bases, ownFields: Object.keys(own) },
  };
}
