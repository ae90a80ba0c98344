// Generates src/spec/repo-spec.generated.ts from the schema, the single source of truth.
// test/unit/spec/generated-types.test.ts fails when the checked-in file is stale.
import { compile } from 'json-schema-to-typescript';
import { readFile, writeFile } from 'node:fs/promises';

export async function generate() {
  const schema = JSON.parse(
    await readFile(new URL('../schemas/repo-spec.schema.json', import.meta.url), 'utf8'),
  );
  return compile(schema, 'RepoSpec', {
    bannerComment:
      '/* Generated from schemas/repo-spec.schema.json by `npm run gen:types`. Do not edit by hand. */',
    additionalProperties: false,
    style: { singleQuote: true, printWidth: 110 },
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  await writeFile(new URL('../src/spec/repo-spec.generated.ts', import.meta.url), await generate());
}
