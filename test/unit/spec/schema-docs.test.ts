import Ajv2020 from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../../../src/spec/normalise.js';
import { DEFAULT_TIMEOUT } from '../../../src/minimise/tracer.js';

/**
 * Editors show a schema's description on hover and offer its defaults and examples for
 * completion: every node of the repo-spec schema carries all that it can, and what it shows is true.
 */
const schema = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../schemas/repo-spec.schema.json', import.meta.url)), 'utf8'),
) as Record<string, unknown>;

type Node = Record<string, unknown>;
const CHILD_MAPS = ['properties', '$defs', 'patternProperties'];
const CHILD_NODES = [
  'items',
  'additionalProperties',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'contains',
];
const CHILD_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];

function walk(node: Node, pointer: string, out: [string, Node][]): [string, Node][] {
  out.push([pointer, node]);
  for (const key of CHILD_MAPS)
    for (const [name, child] of Object.entries((node[key] as Record<string, Node> | undefined) ?? {}))
      walk(child, `${pointer}/${key}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
  for (const key of CHILD_NODES)
    if (node[key] && typeof node[key] === 'object') walk(node[key] as Node, `${pointer}/${key}`, out);
  for (const key of CHILD_LISTS)
    ((node[key] as Node[] | undefined) ?? []).forEach((child, i) =>
      walk(child, `${pointer}/${key}/${i}`, out),
    );
  return out;
}

const nodes = walk(schema, '', []);
// strictTypes off: a propertyNames node's pattern is checked on its own, out of its object's context.
const ajv = new Ajv2020.default({ strict: true, strictTypes: false, allErrors: true });
ajv.addSchema(schema);
const id = schema.$id as string;

test('the schema has its nodes (a walk that finds none would prove nothing)', () => {
  expect(nodes.length).toBeGreaterThanOrEqual(60);
});

test('every schema node has a description and examples', () => {
  const undescribed = nodes.filter(([, n]) => typeof n.description !== 'string' || n.description === '');
  const noExamples = nodes.filter(([, n]) => !Array.isArray(n.examples) || n.examples.length === 0);
  expect({ undescribed: undescribed.map(([p]) => p), noExamples: noExamples.map(([p]) => p) }).toEqual({
    undescribed: [],
    noExamples: [],
  });
});

test.each(nodes.filter(([, n]) => Array.isArray(n.examples)).map(([p]) => [p || '/']))(
  'the examples and default of %s are valid values there',
  (pointer) => {
    const node = nodes.find(([p]) => (p || '/') === pointer)![1];
    const validate = ajv.getSchema(`${id}#${pointer === '/' ? '' : pointer}`)!;
    for (const value of [...(node.examples as unknown[]), ...('default' in node ? [node.default] : [])])
      expect({ value, valid: validate(value), errors: validate.errors }).toMatchObject({ valid: true });
  },
);

test('the defaults the schema shows are the ones the normaliser applies', () => {
  const at = (p: string) => nodes.find(([q]) => q === p)![1].default;
  expect(at('/properties/modules')).toBe(DEFAULTS.modules);
  expect(at('/properties/compression')).toBe(DEFAULTS.compression);
  expect(at('/properties/cmdline')).toBe(DEFAULTS.cmdline);
  expect(at('/properties/boot')).toEqual(DEFAULTS.boot);
  expect(at('/properties/boot/properties/bios')).toBe(DEFAULTS.boot.bios);
  expect(at('/properties/boot/properties/uefi')).toBe(DEFAULTS.boot.uefi);
  expect(at('/properties/apt/properties/variant')).toBe(DEFAULTS.apt.variant);
  expect(at('/properties/apt/properties/components')).toEqual(DEFAULTS.apt.components);
  expect(at('/$defs/minimise/properties/workloads/items/properties/timeout')).toBe(DEFAULT_TIMEOUT);
  const withDefault = nodes.filter(([, n]) => 'default' in n).length;
  expect(withDefault).toBeGreaterThanOrEqual(20);
});
