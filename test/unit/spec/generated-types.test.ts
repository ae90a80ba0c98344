import { readFile } from 'node:fs/promises';
// @ts-expect-error: a plain .mjs script without type declarations
import { generate } from '../../../schemas/gen-types.mjs';

// The schema is the source of truth: the checked-in types must be what the generator makes of it.
test('src/spec/repo-spec.generated.ts is generated from the current schema (run npm run gen:types)', async () => {
  const checkedIn = await readFile(
    new URL('../../../src/spec/repo-spec.generated.ts', import.meta.url),
    'utf8',
  );
  expect(checkedIn).toBe(await generate());
});
