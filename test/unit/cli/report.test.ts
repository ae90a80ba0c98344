import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import type { Manifest } from '../../../src/inventory/manifest.js';
import { parseEvents } from '../../helpers/json-events.js';
import { checkCliBuilt, runCli } from './run-cli.js';

// `isobuild report` on hand-written manifests with an empty cache (no build): the page is written
// from the manifest alone and says what the cache could not give; a path with no manifest is a
// usage error. The browser tests are test/integration/report-browser.test.ts.
beforeAll(checkCliBuilt);
let tmp: DirectoryResult;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
});
afterEach(() => tmp.cleanup());

const manifest = (o: Partial<Manifest> = {}): Manifest => ({
  manifestVersion: 1,
  generator: 'isobuild 0.1.0',
  repo: 'debian-12',
  target: 'bootstrap',
  format: 'iso',
  packagemanager: 'apt',
  distro: { id: 'debian', versionId: '12' },
  sourceDateEpoch: 0,
  output: { name: 'a.iso', size: 1, sha256: 'a'.repeat(64) },
  packagesFrom: 'staging',
  packages: [
    { name: 'bash', version: '5.2.15-2', arch: 'amd64' },
    { name: 'less', version: '590-2', arch: 'amd64' },
  ],
  isobuildFiles: [],
  initrdFiles: [{ path: '/usr/bin/bash', type: 'file', mode: '0755', size: 1000, sha256: 'b' }],
  stages: [{ name: 'staging', key: 'k2', values: {}, files: {}, toolVersions: [] }],
  ...o,
});

async function writeOutput(name: string, m: Manifest): Promise<string> {
  const out = join(tmp.path, 'bin', name);
  await mkdir(join(tmp.path, 'bin'), { recursive: true });
  await writeFile(out, 'iso bytes');
  await writeFile(`${out}.manifest.json`, JSON.stringify(m));
  return out;
}

const env = () => ({ ISOBUILD_CACHE: join(tmp.path, 'cache') });

test('writes <output>.report.html from the manifest; what the cache lacks is said on the page', async () => {
  const out = await writeOutput('a.iso', manifest());
  const r = await runCli(['--json', 'report', out], tmp.path, env());
  expect(r.code).toBe(0);
  expect(parseEvents(r.stdout)).toEqual([{ type: 'report', output: out, file: `${out}.report.html` }]);
  const html = await readFile(`${out}.report.html`, 'utf8');
  expect(html).toContain('<tr data-package="bash">');
  expect(html).toContain('<tr data-package="less">');
  expect(html).toContain('files are not attributed to packages');
  expect(html).toContain('stage statuses unknown');
  // Self-contained: no script or style is fetched.
  expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/);
});

test('--against: the added package is named and marked; -o chooses the file', async () => {
  const a = await writeOutput('a.iso', manifest());
  const b = await writeOutput(
    'b.iso',
    manifest({
      output: { name: 'b.iso', size: 1, sha256: 'c'.repeat(64) },
      packages: [...manifest().packages, { name: 'hello', version: '2.10-3', arch: 'amd64' }],
      stages: [{ name: 'staging', key: 'k3', values: { packages: ['hello'] }, files: {}, toolVersions: [] }],
    }),
  );
  const file = join(tmp.path, 'diff.html');
  const r = await runCli(['report', b, '--against', a, '-o', file], tmp.path, env());
  expect(r.code).toBe(0);
  const html = await readFile(file, 'utf8');
  expect(html).toContain('<li class="added">+ hello 2.10-3</li>');
  expect(html).toContain('<tr data-package="hello" class="added">');
  expect(html).toContain('first stage whose inputs differ: staging (spec values: packages)');
});

test('an output path with no manifest beside it: a usage error naming the manifest looked for, exit 2', async () => {
  const r = await runCli(['report', join(tmp.path, 'nothing.iso')], tmp.path, {
    ...env(),
    ISOBUILD_REPOS: join(tmp.path, 'repos'),
  });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`no manifest at ${join(tmp.path, 'nothing.iso.manifest.json')}`);
});
