// The package managers a spec is checked against: src/pm/index.ts hands them to src/spec/.
import '../../../src/pm/index.js';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { SpecError, UsageError } from '../../../src/errors.js';
import { listRepoFolders, loadRepo, loadRepoFolder, locateRepo } from '../../../src/spec/load.js';
import { makeRepo, specJson, type RepoFixture } from './repo-fixture.js';

const REPOS = fileURLToPath(new URL('../../../repos/', import.meta.url));

const fixtures: RepoFixture[] = [];
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.remove()));
});

describe('the sample repos', () => {
  test.each(['photon-2.0', 'photon-1.0', 'centos-6.9', 'debian-12'])(
    '%s loads without errors or warnings',
    async (name) => {
      const r = await loadRepoFolder(join(REPOS, name));
      expect(r.errors).toEqual([]);
      expect(r.warnings).toEqual([]);
      expect(r.spec?.name).toBe(name);
      expect(Object.isFrozen(r.spec)).toBe(true);
      expect(Object.isFrozen(r.spec?.packages.base)).toBe(true);
    },
  );

  test("photon-2.0 is VIC's: tdnf, linux-esx, erase toybox, repo file, GPG key, hooks and drivers", async () => {
    const s = (await loadRepoFolder(join(REPOS, 'photon-2.0'))).spec!;
    expect(s).toMatchObject({
      packagemanager: 'tdnf',
      kernel: { kind: 'package', name: 'linux-esx' },
      release: '2.0',
      stagingScript: { bootstrap: [], appliance: ['erase', 'toybox'] },
      repoFiles: [join(REPOS, 'photon-2.0/photon.repo')],
      gpgKeys: [join(REPOS, 'photon-2.0/VMWARE-RPM-GPG-KEY')],
      hooks: { base: join(REPOS, 'photon-2.0/base.sh'), init: join(REPOS, 'photon-2.0/init.sh') },
      drivers: {
        common: true,
        repo: ['nf_nat_redirect', 'xt_REDIRECT', 'nf_reject_ipv4', 'nfsv3', 'lockd'],
        spec: [],
      },
    });
    expect(s.packages.base).toEqual(['filesystem', 'toybox', 'kmod', 'haveged', 'iptables']);
  });

  test("debian-12 is the default: apt, bookworm, the cloud kernel, the host's apt sources", async () => {
    const s = (await loadRepoFolder(join(REPOS, 'debian-12'))).spec!;
    expect(s).toMatchObject({
      packagemanager: 'apt',
      release: 'bookworm',
      kernel: { kind: 'package', name: 'linux-image-cloud-amd64' },
      init: '/bin/init',
      apt: { variant: 'essential', components: ['main'] },
      repoFiles: [],
    });
    expect(s.apt.sources).toBeUndefined();
    expect(s.packages.base).toEqual(
      expect.arrayContaining(['bash', 'kmod', 'iptables', 'haveged', 'util-linux']),
    );
    expect(s.drivers.repo.length).toBeGreaterThan(0);
  });
});

describe('loadRepoFolder', () => {
  test('YAML specs load like JSON ones', async () => {
    const f = await makeRepo('debian-12', {
      'repo-spec.yml':
        'name: debian-12\npackagemanager: apt\nkernel: linux-image-cloud-amd64\ninit: /bin/init\npackages:\n  base: [bash, kmod]\n',
    });
    fixtures.push(f);
    const r = await loadRepoFolder(f.dir);
    expect(r.errors).toEqual([]);
    expect(r.spec?.specFile).toBe(join(f.dir, 'repo-spec.yml'));
    expect(r.spec?.packages.base).toEqual(['bash', 'kmod']);
  });

  test('collects problems from the spec and the hooks in one run', async () => {
    const f = await makeRepo('debian-12', {
      'repo-spec.json': specJson({ init: 'init' }),
      'staging.sh': 'if\n',
      'init.sh': 'drivers=($(ls))\n',
    });
    fixtures.push(f);
    const r = await loadRepoFolder(f.dir);
    expect(r.spec).toBeUndefined();
    expect(r.errors.map((d) => d.rule).sort()).toEqual(['hooks-parse', 'init-drivers-readable', 'schema']);
  });

  test('an unreadable file is a diagnostic, not a crash', async () => {
    const f = await makeRepo('debian-12', {
      'repo-spec.json': { symlink: 'gone.json' },
      'init.sh': { symlink: 'gone.sh' },
    });
    fixtures.push(f);
    const r = await loadRepoFolder(f.dir);
    expect(
      r.errors.map((d) => [d.file.endsWith('init.sh') ? 'init.sh' : 'repo-spec.json', d.message]),
    ).toEqual([
      ['init.sh', 'cannot read the file (ENOENT): fix or remove it'],
      ['repo-spec.json', 'cannot read the file (ENOENT): fix or remove it'],
    ]);
  });

  test('a path that is not a folder', async () => {
    const r = await loadRepoFolder('/nonexistent/repo');
    expect(r.errors).toEqual([
      {
        file: '/nonexistent/repo',
        line: 1,
        col: 1,
        pointer: '',
        message: 'no such folder',
        rule: 'repo-folder',
      },
    ]);
  });
});

describe('locateRepo, listRepoFolders, loadRepo', () => {
  test('a name under the repos folder, or a path', async () => {
    expect(await locateRepo('debian-12', REPOS)).toBe(join(REPOS, 'debian-12'));
    expect(await locateRepo(join(REPOS, 'photon-2.0'), '/elsewhere')).toBe(join(REPOS, 'photon-2.0'));
  });

  test('an unknown name suggests the nearest repo', async () => {
    await expect(locateRepo('photon-2.1', REPOS)).rejects.toThrow(
      /^no repo "photon-2.1" in .*repos \(did you mean "photon-2.0"\?\)$/,
    );
    await expect(locateRepo('./nope', REPOS)).rejects.toThrow('repo folder not found: ./nope');
  });

  test('listRepoFolders lists subfolders sorted, and refuses a missing repos folder', async () => {
    const folders = await listRepoFolders(REPOS);
    expect(folders).toEqual(
      expect.arrayContaining(
        ['centos-6.9', 'debian-12', 'photon-1.0', 'photon-2.0'].map((n) => join(REPOS, n)),
      ),
    );
    expect(folders).toEqual([...folders].sort());
    await expect(listRepoFolders('/nonexistent/repos')).rejects.toBeInstanceOf(UsageError);
  });

  test('loadRepo throws a SpecError carrying every diagnostic', async () => {
    const f = await makeRepo('debian-12', {
      'repo-spec.json': specJson({ init: 'x', compression: 'brotli' }),
    });
    fixtures.push(f);
    const err = await loadRepo('debian-12', f.root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).exitCode).toBe(2);
    expect((err as SpecError).diagnostics.map((d) => d.pointer)).toEqual(['/init', '/compression']);
  });
});
