import Ajv2020 from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import { SCHEMA_URL } from '../../../src/spec/schema.js';

// The CLI compiles the schema without checking it against the meta-schema (start-up time): this does.
test('the repo-spec schema is a valid JSON Schema 2020-12 document, strict mode', () => {
  const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object;
  const ajv = new Ajv2020.default({ allErrors: true, strict: true });
  expect(ajv.validateSchema(schema)).toBe(true);
  expect(ajv.errors ?? null).toBeNull();
  expect(() => ajv.compile(schema)).not.toThrow();
});
