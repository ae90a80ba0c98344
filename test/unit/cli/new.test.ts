import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventsOfType } from '../../helpers/json-events.js';
import { checkCliBuilt, ROOT, runCli } from './run-cli.js';

beforeAll(checkCliBuilt);
let repos: string;

/** A copy of the sample repos, so `new` writes into a folder of the test's own. */
beforeEach(async () => {
  repos = join(await mkdtemp(join(tmpdir(), 'isobuild-new-')), 'repos');
  await cp(join(ROOT, 'repos'), repos, { recursive: true });
});
afterEach(() => rm(join(repos, '..'), { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(['--repos', repos, ...args], ROOT);

test('new NAME scaffolds a minimal apt repo that validates, and says so in a created event', async () => {
  const res = await cli('new', 'my-app', '--json');
  expect(res.code).toBe(0);
  expect(eventsOfType(res.stdout, 'created')).toEqual([
    {
      type: 'created',
      repo: 'my-app',
      path: join(repos, 'my-app'),
      from: null,
      files: ['init.sh', 'repo-spec.json'],
    },
  ]);
  const spec = JSON.parse(await readFile(join(repos, 'my-app', 'repo-spec.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  expect(spec).toMatchObject({
    name: 'my-app',
    packagemanager: 'apt',
  });
  // The editor's pointer reaches the schema of the isobuild that made the repo.
  expect(resolve(repos, 'my-app', spec.$schema as string)).toBe(join(ROOT, 'schemas/repo-spec.schema.json'));
  expect(await readFile(join(repos, 'my-app', 'init.sh'), 'utf8')).toMatch(/^drivers=\(/m);
  const check = await cli('validate', 'my-app');
  // No warning; the drivers wait for a built kernel to be checked against.
  expect(check.stderr).toBe('my-app: drivers not checked (no module list known: build iso-base once)\n');
  expect(check).toMatchObject({ code: 0, stdout: 'ok  my-app\n' });
});

test('new NAME --from REPO copies the folder and rewrites only the name, keeping YAML comments', async () => {
  const res = await cli('new', 'py-app', '--from', 'debian-12-python', '--json');
  expect(res.code).toBe(0);
  const [created] = eventsOfType(res.stdout, 'created');
  expect(created).toMatchObject({ repo: 'py-app', from: 'debian-12-python' });
  expect(created!.files).toEqual(
    (await readdir(join(repos, 'debian-12-python'), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(join(repos, 'debian-12-python').length + 1))
      .sort(),
  );
  const before = await readFile(join(repos, 'debian-12-python', 'repo-spec.yaml'), 'utf8');
  const after = await readFile(join(repos, 'py-app', 'repo-spec.yaml'), 'utf8');
  expect(after).toBe(before.replace(/^name: .*$/m, 'name: "py-app"'));
  expect(await cli('validate', 'py-app')).toMatchObject({ code: 0, stdout: 'ok  py-app\n' });
});

test.each([
  [['new', 'debian-12'], /repos\/debian-12 already exists/],
  [['new', '../escape'], /"..\/escape" is not a repo name/],
  [['new', 'x', '--from', 'photon-2.O'], /no repo "photon-2.O" in .* \(did you mean "photon-2.0"\?\)/],
])('isobuild %j is a usage error and creates nothing', async (args, message) => {
  const res = await cli(...args);
  expect(res.code).toBe(2);
  expect(res.stderr).toMatch(message);
  expect((await readdir(repos)).sort()).toEqual((await readdir(join(ROOT, 'repos'))).sort());
});

test('new --from finds a shipped repo when the --repos folder lacks it, and its hint keeps --repos', async () => {
  const empty = join(repos, '..', 'empty');
  await mkdir(empty);
  const res = await runCli(['--repos', empty, 'new', 'mine', '--from', 'debian-12'], ROOT);
  expect(res.code).toBe(0);
  expect(res.stderr).toContain(`(isobuild --repos ${empty} validate mine)`);
  expect(await readFile(join(empty, 'mine', 'repo-spec.json'), 'utf8')).toMatch(/"name": "mine"/);
  // The hint, copied as printed, validates the new repo.
  const check = await runCli(['--repos', empty, 'validate', 'mine'], ROOT);
  expect(check).toMatchObject({ code: 0, stdout: 'ok  mine\n' });
});

test('new --from leaves the source repo’s lock behind: it names that repo and its packages', async () => {
  await writeFile(join(repos, 'debian-12', 'isobuild.lock'), '{"repo": "debian-12"}\n');
  const res = await cli('new', 'copy', '--from', 'debian-12');
  expect(res.code).toBe(0);
  expect(await readdir(join(repos, 'copy'))).not.toContain('isobuild.lock');
});
