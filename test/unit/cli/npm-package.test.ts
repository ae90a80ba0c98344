import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseEvents } from '../../helpers/json-events.js';
import { checkCliBuilt, ROOT, runCli } from './run-cli.js';

beforeAll(checkCliBuilt);

interface PackResult {
  files: { path: string }[];
}

test('npm pack ships the CLI, the library with its types, schemas, repos and LICENSE, and no source maps or sources', async () => {
  // --ignore-scripts: no rebuild (prepare) under other tests' feet; dist/ is already built.
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
  });
  const files = ((JSON.parse(stdout) as PackResult[])[0]!.files ?? []).map((f) => f.path);
  expect(files).toEqual(
    expect.arrayContaining([
      'LICENSE',
      'package.json',
      'README.md',
      'dist/cli/main.js',
      'dist/cli/program.js',
      'dist/build/index.js',
      'dist/build/index.d.ts',
      'schemas/repo-spec.schema.json',
      'schemas/events.schema.json',
      'repos/debian-12/repo-spec.json',
      'repos/photon-2.0/photon.repo',
    ]),
  );
  expect(
    files.filter((f) => f.endsWith('.map') || /^(src|test)\//.test(f) || /(?<!\.d)\.ts$/.test(f)),
  ).toEqual([]);
  for (const js of files.filter((f) => f.endsWith('.js')))
    expect(await readFile(join(ROOT, js), 'utf8')).not.toContain('sourceMappingURL');
});

test('package.json: license file, repository, homepage, keywords, os, engines', async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  expect(pkg.license).toBe('Apache-2.0');
  expect(await readFile(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
  expect(pkg).toMatchObject({ os: ['linux'], engines: { node: '>=20.3' } });
  expect(pkg.repository).toMatchObject({ type: 'git' });
  expect(typeof pkg.homepage).toBe('string');
  expect((pkg.keywords as string[]).length).toBeGreaterThan(3);
});

test('outside a checkout (no ./repos) the CLI uses the repos it ships', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'isobuild-npx-'));
  try {
    const res = await runCli(['list', '--json'], empty, { ISOBUILD_REPOS: '' });
    expect(res.code).toBe(0);
    const repos = parseEvents(res.stdout).map((e) => e.repo);
    expect(repos).toEqual(expect.arrayContaining(['debian-12', 'photon-2.0']));
    const plan = await runCli(['plan', 'photon-2.0'], empty, { ISOBUILD_REPOS: '' });
    expect(plan.code).toBe(0);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});

test('a program outside the package imports the library by its name, typed', async () => {
  // As after `npm install isobuild`: node_modules/isobuild is the package, found through its `exports`.
  const app = await mkdtemp(join(tmpdir(), 'isobuild-consumer-'));
  try {
    await mkdir(join(app, 'node_modules'));
    await symlink(ROOT, join(app, 'node_modules', 'isobuild'));
    await writeFile(join(app, 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(
      join(app, 'app.ts'),
      [
        "import { build, TARGETS, type BuildRequest, type BuildResult } from 'isobuild';",
        "const request: BuildRequest = { repo: 'debian-12', target: 'bootstrap', outputDir: 'out' };",
        'const run: (r: BuildRequest) => Promise<BuildResult> = build;',
        '// @ts-expect-error: a target the library does not know is a type error',
        "const wrong: BuildRequest = { repo: 'debian-12', target: 'nope' };",
        'export { request, run, wrong, TARGETS };',
      ].join('\n'),
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const flags = [
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
    ];
    await promisify(execFile)(
      'node',
      [tsc, ...flags, '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), 'app.ts'],
      { cwd: app },
    );
    const { stdout } = await promisify(execFile)(
      'node',
      [
        '--input-type=module',
        '-e',
        "import { build, TARGETS } from 'isobuild'; console.log(typeof build, TARGETS[0]);",
      ],
      { cwd: app },
    );
    expect(stdout.trim()).toBe('function iso-base');
  } finally {
    await rm(app, { recursive: true, force: true });
  }
});
