import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRepo, specJson, type RepoFixture } from '../spec/repo-fixture.js';
import { eventsOfType } from '../../helpers/json-events.js';
import { checkCliBuilt, runCli } from './run-cli.js';

beforeAll(checkCliBuilt);
let repo: RepoFixture;
let cache: string;
beforeEach(async () => {
  // No release in the spec and none in the name: it comes from the sources ISOBUILD_APT_SOURCES names.
  repo = await makeRepo('my-apt', { 'repo-spec.json': specJson({ name: 'my-apt', compression: 'xz' }) });
  await writeFile(join(repo.root, 'sources.list'), 'deb http://mirror.invalid/debian trixie main\n');
  cache = await mkdtemp(join(tmpdir(), 'isobuild-summary-cache-'));
});
afterEach(async () => {
  await repo.remove();
  await rm(cache, { recursive: true, force: true });
});

const summary = (args: string[], env: Record<string, string> = {}) =>
  runCli(['summary', '--repos', repo.root, 'my-apt', ...args], repo.root, {
    ISOBUILD_CACHE: cache,
    ISOBUILD_APT_SOURCES: join(repo.root, 'sources.list'),
    ...env,
  });
/** "label value [origin]" rows of a section of the text output. */
const row = (out: string, label: string) =>
  new RegExp(`^ {2}${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +(.+?) +\\[([a-z ]+)\\]$`, 'm')
    .exec(out)
    ?.slice(1);

test('isobuild summary: the settings in sections, each with where it came from, and nothing built', async () => {
  const res = await summary([], { SOURCE_DATE_EPOCH: '1700000000' });
  expect(res.code).toBe(0);
  const out = res.stdout;
  expect([...out.matchAll(/^(\w+):$/gm)].map((m) => m[1])).toEqual([
    'repo',
    'distribution',
    'packages',
    'hooks',
    'boot',
    'build',
    'target',
  ]);
  expect(row(out, 'package manager')).toEqual(['apt', 'spec file']);
  expect(row(out, 'compression')).toEqual(['xz', 'spec file']);
  expect(row(out, 'modules')).toEqual(['all', 'default']);
  expect(row(out, 'release')).toEqual([
    expect.stringMatching(/^trixie \(the suite of .*sources\.list\)$/),
    'environment',
  ]);
  expect(row(out, 'apt sources')).toEqual([expect.stringContaining('(ISOBUILD_APT_SOURCES)'), 'environment']);
  expect(row(out, 'source date epoch')).toEqual(['1700000000', 'environment']);
  expect(row(out, 'repos folder')).toEqual([repo.root, 'command line']);
  expect(row(out, 'target')).toEqual(['bootstrap (flavour bootstrap)', 'default']);
  expect(row(out, 'iso')).toEqual(['bin/bootstrap-my-apt.iso', 'default']);
  expect(await readdir(cache)).toEqual([]);
});

test('summary --json: the same settings as data; the spec rows are exactly the ones plan prints', async () => {
  const res = await summary(['--json', '--target', 'initrd']);
  expect(res.code).toBe(0);
  const [event] = eventsOfType(res.stdout, 'summary');
  const settings = event!.settings as { section: string; label: string; value: string; origin: string }[];
  expect(settings).toContainEqual({
    section: 'boot',
    label: 'compression',
    value: 'xz',
    origin: 'spec file',
  });
  expect(settings).toContainEqual({
    section: 'build',
    label: 'source date epoch',
    value: '0',
    origin: 'default',
  });
  expect(settings).toContainEqual({
    section: 'target',
    label: 'target',
    value: 'initrd (flavour bootstrap)',
    origin: 'command line',
  });
  const plan = await runCli(['plan', '--repos', repo.root, 'my-apt'], repo.root, {
    ISOBUILD_APT_SOURCES: join(repo.root, 'sources.list'),
  });
  const planRows = plan.stdout
    .split('\n\n')[0]!
    .split('\n')
    .map((l) => /^(\S+(?: \S+)*) {2,}(.*)$/.exec(l)!.slice(1));
  for (const [label, value] of planRows)
    expect(settings).toContainEqual(expect.objectContaining({ label, value }));
});

test('summary of a repo with a spec error exits 2 with the diagnostics', async () => {
  await writeFile(join(repo.dir, 'repo-spec.json'), specJson({ name: 'my-apt', compression: 'rar' }));
  const res = await summary([]);
  expect(res.code).toBe(2);
  expect(res.stderr).toContain('/compression');
});

test('summary of a repo that extends a base: what only the base sets says [base spec]', async () => {
  await writeFile(
    join(repo.root, 'base.yaml'),
    'compression: gzip\ncmdline: console=ttyS0\npackages: { appliance: systemd }\n',
  );
  await writeFile(join(repo.dir, 'repo-spec.json'), specJson({ name: 'my-apt', extends: '../base.yaml' }));
  const res = await summary([]);
  expect(res.code).toBe(0);
  expect(row(res.stdout, 'compression')).toEqual(['gzip', 'base spec']);
  expect(row(res.stdout, 'cmdline')).toEqual(['console=ttyS0', 'base spec']);
  // packages is set in both: merged, and the repo's own file counts.
  expect(row(res.stdout, 'appliance packages')).toEqual(['systemd', 'spec file']);
  expect(row(res.stdout, 'base packages')).toEqual(['bash busybox', 'spec file']);
  expect(row(res.stdout, 'modules')).toEqual(['all', 'default']);
});
