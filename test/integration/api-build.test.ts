import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/run.js';
import { sharedStageCache } from '../helpers/test-cache.js';

/**
 * The library as a program outside the CLI uses it: docs/examples/build-iso.mjs, the example
 * docs/api.md shows, run with node against the built dist/ (it imports 'isobuild', the package's
 * `exports`), builds the debian-12 bootstrap ISO with the host's apt mirror. The stage cache is
 * the test cache's shared one, so a warm run takes the stages from it; the outputs go to a temp
 * folder of this test.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = join(ROOT, 'docs/examples/build-iso.mjs');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-api-build-'));
  await stat(join(ROOT, 'dist/build/index.js')).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
}, 300_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('docs/api.md shows docs/examples/build-iso.mjs as it is', async () => {
  const doc = await readFile(join(ROOT, 'docs/api.md'), 'utf8');
  const shown =
    /<!-- example: docs\/examples\/build-iso\.mjs -->\s*```js\n([\s\S]*?)```\s*<!-- end of example -->/.exec(
      doc,
    );
  expect(shown?.[1]).toBe(await readFile(EXAMPLE, 'utf8'));
});

test('a script builds the debian-12 bootstrap ISO through the library', async () => {
  const out = join(dir, 'out');
  // Outside a checkout (no ./repos in the temp folder): the repos the package ships.
  const res = await run('node', [EXAMPLE, out], {
    cwd: dir,
    env: { ISOBUILD_CACHE: sharedStageCache(), ISOBUILD_REPOS: '', NO_COLOR: '1' },
    timeoutMs: 1_800_000,
    stage: 'api example',
  });
  const iso = join(out, 'bootstrap-debian-12.iso');
  const digest = createHash('sha256')
    .update(await readFile(iso))
    .digest('hex');
  expect(res.stdout).toContain(`iso ${iso} sha256:${digest}`);
  expect(res.stdout).toMatch(/^iso-base: (built|hit)$/m);
  expect(res.stdout).toMatch(/^debian-12 bootstrap: done in [\d.]+ s$/m);
  // The manifest and SBOM the build writes beside each output.
  await stat(join(out, 'bootstrap-debian-12.iso.manifest.json'));
  await stat(join(out, 'bootstrap-debian-12.iso.cdx.json'));
}, 1_900_000);
