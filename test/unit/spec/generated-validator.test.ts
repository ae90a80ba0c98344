import Ajv2020 from 'ajv/dist/2020.js';
import { readFile } from 'node:fs/promises';
import { validate } from '../../../src/spec/repo-spec.validate.generated.js';
// @ts-expect-error: a plain .mjs script without type declarations
import { AJV_OPTIONS, generate } from '../../../schemas/gen-validator.mjs';
import { SCHEMA_URL } from '../../../src/spec/schema.js';

// The schema is the source of truth: the checked-in validator must be what ajv makes of it.
test('src/spec/repo-spec.validate.generated.ts is compiled from the current schema (run npm run gen:validator)', async () => {
  const checkedIn = await readFile(
    new URL('../../../src/spec/repo-spec.validate.generated.ts', import.meta.url),
    'utf8',
  );
  expect(checkedIn).toBe(await generate());
});

test('the generated validator and ajv compiling the schema agree, errors and all', async () => {
  const schema = JSON.parse(await readFile(SCHEMA_URL, 'utf8')) as object;
  const compiled = new Ajv2020.default(AJV_OPTIONS as object).compile(schema);
  const good = {
    name: 'x',
    packagemanager: 'apt',
    kernel: 'linux',
    init: '/bin/init',
    packages: { base: 'bash' },
  };
  const specs: unknown[] = [
    good,
    {},
    { ...good, name: 'a b', packagemanager: 'zypper', extra: 1 },
    { ...good, packages: { base: ['bash', 'two words'] } },
    // maxLength counts code points (ajv's ucs2length, a runtime helper of the generated code).
    { ...good, name: '😀'.repeat(64) },
    { ...good, name: '😀'.repeat(65) },
  ];
  for (const spec of specs) {
    const ok = validate(spec) as boolean;
    expect(ok).toBe(compiled(spec));
    expect((validate as { errors?: unknown }).errors ?? null).toEqual(compiled.errors ?? null);
  }
});
