import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/run.js';
import { exists } from '../../src/fs/exists.js';
import { buildOfflineRpmRepo } from '../helpers/rpm-repo/build-rpm-repo.js';
import { makeFixtureRepo, type FixtureRepo } from '../helpers/rpm-repo/fixture-repo.js';

/**
 * Provenance and file owners on the RPM path: the offline sample repo (tdnf) built once to its
 * bootstrap ISO through the real CLI; its database is read by the host's rpm (--root, --dbpath).
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO_ROOT, 'dist/cli/main.js');

interface Statement {
  subject: { name: string; digest: { sha256: string } }[];
  predicate: { buildDefinition: { resolvedDependencies: { uri?: string; digest?: { sha256?: string } }[] } };
}

describe('provenance and file owners of the offline RPM sample', () => {
  let fixture: FixtureRepo;
  let dir: string;
  let iso: string;
  const cli = (args: string[]) =>
    run('node', [CLI, ...args], {
      cwd: dir,
      env: { ISOBUILD_CACHE: join(dir, 'cache'), NO_COLOR: '1' },
      timeoutMs: 900_000,
      allowFailure: true,
      stage: 'provenance rpm test',
    });

  beforeAll(async () => {
    const repo = await buildOfflineRpmRepo();
    fixture = await makeFixtureRepo({ packagemanager: 'tdnf', baseurl: `file://${repo.dir}` });
    dir = await mkdtemp(join(tmpdir(), 'isobuild-provenance-rpm-'));
    if (!(await exists(CLI))) await run('npm', ['run', 'build'], { cwd: REPO_ROOT });
    const res = await cli(['build', fixture.dir, '--target', 'bootstrap', '--bin', join(dir, 'bin')]);
    if (res.exitCode !== 0) throw new Error(res.all);
    iso = join(dir, 'bin', (await readdir(join(dir, 'bin'))).find((f) => f.endsWith('.iso'))!);
  }, 900_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await fixture?.cleanup();
  });

  test('the provenance names the ISO by its sha256 and every SBOM package among its dependencies', async () => {
    const statement = JSON.parse(await readFile(`${iso}.intoto.json`, 'utf8')) as Statement;
    const digest = createHash('sha256')
      .update(await readFile(iso))
      .digest('hex');
    expect(statement.subject).toEqual([{ name: iso.split('/').pop(), digest: { sha256: digest } }]);
    const sbom = JSON.parse(await readFile(`${iso}.cdx.json`, 'utf8')) as { components: { purl?: string }[] };
    const purls = sbom.components.map((c) => c.purl).filter(Boolean);
    expect(purls.length).toBeGreaterThan(5);
    const uris = new Set(statement.predicate.buildDefinition.resolvedDependencies.map((d) => d.uri));
    expect(purls.filter((p) => !uris.has(p))).toEqual([]);
  });

  test('why names the busybox package for /usr/bin/busybox and staging.sh for the file it wrote', async () => {
    const busybox = await cli(['why', iso, '/usr/bin/busybox']);
    expect(busybox.stdout).toMatch(/package busybox/);
    const hook = await cli(['why', iso, '/etc/isobuild-staging-hook']);
    expect(hook.stdout).toMatch(/hook staging\.sh/);
  });
});
