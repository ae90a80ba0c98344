// Generates src/spec/repo-spec.generated.ts from the schema, the single source of truth.
// test/unit/spec/generated-types.test.ts fails when the checked-in file is stale.
import { compile } from 'json-schema-to-typescript';
import { readFile, writeFile } from 'node:fs/promises';

/**
 * Hover text beside a $ref (for editors) makes json-schema-to-typescript inline a copy of the
 * referenced type (Argv1, Argv2...): the types are generated from the refs alone.
 */
function withoutRefAnnotations(node) {
  if (Array.isArray(node)) return node.map(withoutRefAnnotations);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if ('$ref' in node && ['description', 'examples', 'default'].includes(key)) continue;
    out[key] = key === 'examples' || key === 'default' ? value : withoutRefAnnotations(value);
  }
  return out;
}

export async function generate() {
  const schema = JSON.parse(
    await readFile(new URL('../schemas/repo-spec.schema.json', import.meta.url), 'utf8'),
  );
  return compile(withoutRefAnnotations(schema), 'RepoSpec', {
    bannerComment:
      '/* Generated from schemas/repo-spec.schema.json by `npm run gen:types`. Do not edit by hand. */',
    additionalProperties: false,
    style: { singleQuote: true, printWidth: 110 },
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  await writeFile(new URL('../src/spec/repo-spec.generated.ts', import.meta.url), await generate());
}
