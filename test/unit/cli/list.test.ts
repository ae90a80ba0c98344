import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeRepo, specJson, type RepoFixture } from '../spec/repo-fixture.js';
import { checkCliBuilt, ROOT, runCli } from './run-cli.js';
import { parseEvents } from '../../helpers/json-events.js';

let repos: RepoFixture;

beforeAll(async () => {
  await checkCliBuilt();
  // One valid apt repo, one valid tdnf repo with a warning, and one broken repo.
  repos = await makeRepo('debian-12', { 'repo-spec.json': specJson() });
  await mkdir(join(repos.root, 'photon-2.0'));
  await writeFile(
    join(repos.root, 'photon-2.0/repo-spec.json'),
    specJson({
      name: 'photon-2.0',
      packagemanager: 'tdnf',
      kernel: 'linux-esx',
      apt: { variant: 'minbase' },
    }),
  );
  await writeFile(join(repos.root, 'photon-2.0/photon.repo'), '[photon]\n');
  await mkdir(join(repos.root, 'broken'));
  await writeFile(join(repos.root, 'broken/repo-spec.json'), '{ "name": 1, "init": "x" }');
});

afterAll(() => repos.remove());

test('isobuild list: a table of repos; a broken repo shows its error count instead of failing', async () => {
  // ISOBUILD_REPOS, not --repos: the hint then needs no --repos (a copied hint keeps the variable).
  const res = await runCli(['list'], repos.root, { ISOBUILD_REPOS: repos.root });
  expect(res.code).toBe(0);
  expect(res.stdout).toBe(
    [
      'REPO        PACKAGE MANAGER  KERNEL                   RELEASE   STATUS',
      'broken      -                -                        -         invalid: 5 errors (isobuild validate broken)',
      'debian-12   apt              linux-image-cloud-amd64  bookworm  ok',
      'photon-2.0  tdnf             linux-esx                2.0       ok (1 warning)',
      '',
    ].join('\n'),
  );
});

test('isobuild list --json: one repo event per repo, valid against the event schema', async () => {
  const res = await runCli(['list', '--json', '--repos', repos.root], repos.root);
  expect(res.code).toBe(0);
  expect(parseEvents(res.stdout)).toEqual([
    { type: 'repo', repo: 'broken', path: 'broken', valid: false, errors: 5, warnings: 0 },
    {
      type: 'repo',
      repo: 'debian-12',
      path: 'debian-12',
      packagemanager: 'apt',
      kernel: 'linux-image-cloud-amd64',
      release: 'bookworm',
      valid: true,
      errors: 0,
      warnings: 0,
    },
    {
      type: 'repo',
      repo: 'photon-2.0',
      path: 'photon-2.0',
      packagemanager: 'tdnf',
      kernel: 'linux-esx',
      release: '2.0',
      valid: true,
      errors: 0,
      warnings: 1,
    },
  ]);
});

test('isobuild list with a missing repos folder is a usage error', async () => {
  const res = await runCli(['list', '--repos', `${repos.root}/nope`], repos.root);
  expect(res.code).toBe(2);
  expect(res.stderr).toContain('repos folder not found: nope');
});

test('isobuild list --repos DIR: the hint to validate a broken repo keeps --repos', async () => {
  const res = await runCli(['list', '--repos', repos.root], repos.root);
  expect(res.stdout).toContain(`invalid: 5 errors (isobuild --repos ${repos.root} validate broken)`);
});

/** The lines of the first code block in docs/cli.md that starts with `first`. */
function docExample(first: string): string[] {
  const doc = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8');
  const block = doc.split('```').find((b) => b.trimStart().startsWith(first))!;
  expect(block).toBeDefined();
  return block.trim().split('\n');
}

test("docs/cli.md's `isobuild list` example is the shipped repos' real output", async () => {
  const r = await runCli(['list'], ROOT);
  expect(r.code).toBe(0);
  expect(['$ isobuild list', ...r.stdout.trimEnd().split('\n')]).toEqual(docExample('$ isobuild list'));
});

test("docs/cli.md's `isobuild validate` example is the real output for the spec it shows", async () => {
  const lines = docExample('$ cat my-repo/repo-spec.json');
  const validateAt = lines.indexOf('$ isobuild validate ./my-repo');
  const fixture = await makeRepo('my-repo', {
    'repo-spec.json': lines.slice(1, validateAt).join('\n') + '\n',
  });
  try {
    const r = await runCli(['validate', './my-repo'], fixture.root);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual(lines.slice(validateAt + 1));
  } finally {
    await fixture.remove();
  }
});
