// Generates src/spec/repo-spec.validate.generated.ts, the schema compiled by ajv ahead of time:
// compiling it at every start was ~80 ms of each command (docs/performance.md, "No-op rebuild").
// test/unit/spec/generated-validator.test.ts fails when the checked-in file is stale.
import Ajv2020 from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { readFile, writeFile } from 'node:fs/promises';

/**
 * The options src/spec/schema.ts's messages rely on. verbose: the errors carry their schema
 * (known field names, anyOf branches); validateSchema: false: test/unit/spec/schema-meta.test.ts
 * checks the schema against the 2020-12 meta-schema.
 */
export const AJV_OPTIONS = { allErrors: true, verbose: true, strict: true, validateSchema: false };

export async function generate() {
  const schema = JSON.parse(
    await readFile(new URL('../schemas/repo-spec.schema.json', import.meta.url), 'utf8'),
  );
  const ajv = new Ajv2020.default({ ...AJV_OPTIONS, code: { source: true, esm: true } });
  const code = standaloneCode.default(ajv, ajv.compile(schema));
  // ajv's ESM output still require()s its runtime helpers (ucs2length, for maxLength).
  return [
    '// @ts-nocheck',
    '/* Generated from schemas/repo-spec.schema.json by `npm run gen:validator` (ajv standalone). Do not edit by hand. */',
    "import { createRequire } from 'node:module';",
    'const require = createRequire(import.meta.url);',
    code.replace(/^"use strict";/, ''),
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  await writeFile(new URL('../src/spec/repo-spec.validate.generated.ts', import.meta.url), await generate());
}
