import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// docs/json.md's tables (the common events and one row per command) must name every event the
// schema allows: an event added to the schema and not to the docs is an event nobody knows of.
const read = (path: string) =>
  readFileSync(fileURLToPath(new URL(`../../../${path}`, import.meta.url)), 'utf8');

test('every event type of schemas/events.schema.json is in a table of docs/json.md', () => {
  const schema = JSON.parse(read('schemas/events.schema.json')) as {
    oneOf: { properties: { type: { const: string } } }[];
  };
  const types = schema.oneOf.map((e) => e.properties.type.const);
  expect(types.length).toBeGreaterThan(20);
  const rows = read('docs/json.md')
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .join('\n');
  expect(types.filter((t) => !rows.includes(`\`${t}\``))).toEqual([]);
});
