import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Diagnostic } from '../errors.js';
import { joinPointer, type SpecDocument } from './document.js';
import { validate } from './repo-spec.validate.generated.js';
import { findNearest } from './suggest.js';

/** Where the schema lives; the source of truth for fields, types and the generated TypeScript types. */
export const SCHEMA_URL = new URL('../../schemas/repo-spec.schema.json', import.meta.url);

/**
 * The schema as ajv compiles it with schemas/gen-validator.mjs's options, generated ahead of time
 * (`npm run gen:validator`): compiling it at every start was ~80 ms of each command.
 */
const validateSpec = validate as ValidateFunction;

/** Check the parsed value against the schema; every error mapped to a position and a plain message. */
export function checkSchema(doc: SpecDocument): Diagnostic[] {
  if (validateSpec(doc.value)) return [];
  return describeErrors(validateSpec.errors ?? []).map((d) => {
    const { line, col } = doc.positionOf(d.at ?? d.pointer, { key: d.key });
    return { file: doc.shownAs, line, col, pointer: d.pointer, message: d.message, rule: 'schema' };
  });
}

interface Described {
  pointer: string;
  message: string;
  /** Position at the key (unknown fields), not the value. */
  key?: boolean;
  /** Pointer whose position to use, when not `pointer` itself (missing fields: their parent). */
  at?: string;
}

function describeErrors(errors: ErrorObject[]): Described[] {
  const out: Described[] = [];
  // anyOf/oneOf report one error per failed branch plus their own: fold them into one message,
  // unless a branch matched the value's type and failed on something else (then that branch's
  // errors are the news: an empty kernel string is "must not be empty", not "must be an object").
  const choices = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const consumed = new Set<ErrorObject>();
  const folded = new Map<ErrorObject, Described[]>();
  for (const a of choices) {
    const subs = errors.filter((e) => e !== a && branchOf(e, a) !== undefined);
    subs.forEach((e) => consumed.add(e));
    const typeFailed = new Set(
      subs
        .filter((e) => e.instancePath === a.instancePath && e.keyword === 'type')
        .map((e) => branchOf(e, a)),
    );
    const matchedBranch = subs.map((e) => branchOf(e, a)).find((b) => !typeFailed.has(b));
    folded.set(
      a,
      matchedBranch !== undefined
        ? describeErrors(subs.filter((e) => branchOf(e, a) === matchedBranch))
        : [{ pointer: a.instancePath, message: 'must be ' + describeBranches(a.schema) }],
    );
  }
  // In ajv's order, each choice where its own error stands.
  for (const e of errors) {
    const choice = folded.get(e);
    if (choice) out.push(...choice);
    if (choice || consumed.has(e)) continue;
    // propertyNames reports the inner failure (with propertyName set) and its own: keep its own.
    if (e.propertyName !== undefined) continue;
    out.push(describeError(e));
  }
  const seen = new Set<string>();
  return out.filter((d) => {
    const k = d.pointer + '\0' + d.message;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

/**
 * Which branch of the anyOf/oneOf `choice` an error comes from (its index), or undefined when it
 * is not one of them: by schema path, or, for a branch that is a $ref, by the definition's path.
 */
function branchOf(e: ErrorObject, choice: ErrorObject): string | undefined {
  if (!e.instancePath.startsWith(choice.instancePath)) return undefined;
  if (e.schemaPath.startsWith(choice.schemaPath + '/'))
    return e.schemaPath.slice(choice.schemaPath.length + 1).split('/')[0]!;
  const branches = Array.isArray(choice.schema) ? (choice.schema as { $ref?: string }[]) : [];
  const i = branches.findIndex((b) => typeof b.$ref === 'string' && e.schemaPath.startsWith(b.$ref + '/'));
  return i >= 0 ? String(i) : undefined;
}

function describeBranches(branches: unknown): string {
  if (!Array.isArray(branches)) return 'valid';
  return branches.map((b) => describeType(b as SchemaLike)).join(' or ');
}

interface SchemaLike {
  type?: string;
  items?: SchemaLike;
  properties?: Record<string, unknown>;
  enum?: unknown[];
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  array: 'an array',
  object: 'an object',
  boolean: 'a boolean (true or false)',
  number: 'a number',
  integer: 'an integer',
  null: 'null',
};

function describeType(s: SchemaLike): string {
  if (s.type === 'array' && s.items?.type) return `an array of ${s.items.type}s`;
  return (s.type && ARTICLE[s.type]) ?? 'valid';
}

/** Plain words for the schema's patterns. */
const PATTERN_MESSAGES: Record<string, string> = {
  '^/': 'must be an absolute path (starting with /)',
  '^[^\\s]+$': 'must be one package name, without blanks',
  '^[A-Za-z0-9][A-Za-z0-9._-]*$':
    'must be a safe name: letters, digits, ".", "_" and "-", starting with a letter or digit',
  '^[A-Za-z0-9_-]+$': 'must be a kernel module name (letters, digits, "_" and "-")',
  '^[a-z0-9-]+$': 'must be an archive component name (lower-case letters, digits and "-")',
  '^0?[0-7]{3,4}$': 'must be an octal file mode such as "0755"',
};

function describeError(e: ErrorObject): Described {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(p.additionalProperty);
      const known = Object.keys((e.parentSchema as SchemaLike | undefined)?.properties ?? {}).filter(
        (k) => k !== '$schema',
      );
      const near = findNearest(field, known);
      const hint = near ? `did you mean "${near}"?` : `known fields: ${known.join(', ')}`;
      return {
        pointer: e.instancePath + joinPointer(field),
        key: true,
        message: `unknown field "${field}" (${hint})`,
      };
    }
    case 'required': {
      const field = String(p.missingProperty);
      return {
        pointer: e.instancePath + joinPointer(field),
        at: e.instancePath,
        message: `missing required field "${field}"`,
      };
    }
    case 'type':
      return { pointer: e.instancePath, message: `must be ${describeType({ type: String(p.type) })}` };
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map((v) => JSON.stringify(v));
      const near = typeof e.data === 'string' ? findNearest(e.data, p.allowedValues as string[]) : undefined;
      return {
        pointer: e.instancePath,
        message: `must be one of ${allowed.join(', ')}` + (near ? ` (did you mean "${near}"?)` : ''),
      };
    }
    case 'pattern':
      return {
        pointer: e.instancePath,
        message: PATTERN_MESSAGES[String(p.pattern)] ?? `must match the pattern ${String(p.pattern)}`,
      };
    case 'propertyNames':
      return {
        pointer: e.instancePath + joinPointer(String(p.propertyName)),
        key: true,
        message: `"${String(p.propertyName)}" is not a valid variable name (letters, digits and "_", not starting with a digit)`,
      };
    case 'minLength':
      return {
        pointer: e.instancePath,
        message: p.limit === 1 ? 'must not be empty' : (e.message ?? 'invalid'),
      };
    case 'minItems':
      return {
        pointer: e.instancePath,
        message: `must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`,
      };
    default:
      return { pointer: e.instancePath, message: e.message ?? `fails the schema's ${e.keyword} check` };
  }
}
