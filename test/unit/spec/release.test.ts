// The package managers a spec is checked against: src/pm/index.ts hands them to src/spec/.
import '../../../src/pm/index.js';
import { join } from 'node:path';
import { APT_SOURCES_ENV, suiteOfSources } from '../../../src/pm/apt-sources.js';
import { loadRepoFolder } from '../../../src/spec/load.js';
import { deriveRelease } from '../../../src/spec/release.js';
import { makeRepo, type RepoFixture } from './repo-fixture.js';

test.each([
  ['photon-2.0', 'tdnf', '2.0'],
  ['photon-1.0', 'tdnf', '1.0'],
  ['centos-6.9', 'yum', '6.9'],
  ['fedora-40', 'dnf', '40'],
  ['debian-12', 'apt', 'bookworm'],
  ['debian-11', 'apt', 'bullseye'],
  ['debian-13', 'apt', 'trixie'],
  ['debian-12-python', 'apt', 'bookworm'],
  ['debian-99', 'apt', undefined],
  ['ubuntu-24.04', 'apt', undefined],
  ['mydistro', 'tdnf', undefined],
] as const)('%s with %s → %s', (name, pm, release) => {
  expect(deriveRelease(name, pm)).toBe(release);
});

describe('release only where it is used', () => {
  const fixtures: RepoFixture[] = [];
  afterAll(() => Promise.all(fixtures.map((f) => f.remove())));
  const load = async (folder: string, files: Record<string, string>) => {
    const f = await makeRepo(folder, files);
    fixtures.push(f);
    return loadRepoFolder(f.dir);
  };

  test.each([
    ['deb http://mirror.invalid/debian trixie main\n', 'trixie'],
    [
      '# off\ndeb-src http://mirror.invalid/debian sid main\ndeb [arch=amd64] http://m.invalid/d bookworm main\n',
      'bookworm',
    ],
    [
      'Types: deb\nURIs: http://mirror.invalid/debian\nSuites: trixie trixie-updates\nComponents: main\n',
      'trixie',
    ],
    [
      'Types: deb\nEnabled: no\nURIs: http://a.invalid/\nSuites: sid\n\nTypes: deb\nURIs: http://b.invalid/\nSuites: forky\n',
      'forky',
    ],
    ['deb [trusted=yes] file:/srv/debs ./\n', undefined],
  ])('suiteOfSources(%j) → %s', (text, suite) => {
    expect(suiteOfSources(text)).toBe(suite);
  });

  test("VIC's ci repo (tdnf, no version, no .repo, no release) validates unchanged", async () => {
    const { spec, errors } = await load('ci', {
      'repo-spec.json': JSON.stringify({
        name: 'ci',
        packagemanager: 'tdnf',
        kernel: 'linux-esx',
        init: '/bin/init',
        packages: {
          base: 'filesystem coreutils kmod haveged iptables',
          bootstrap: '',
          appliance: 'procps-ng',
        },
      }),
    });
    expect(errors).toEqual([]);
    expect(spec?.releaseFrom).toBe('not used: no .repo file says $releasever');
  });

  test('an RPM repo whose .repo files never say $releasever needs no release', async () => {
    const { spec, errors } = await load('appliance', {
      'repo-spec.yaml':
        'name: appliance\npackagemanager: dnf\nkernel: kernel\ninit: /bin/init\npackages: {base: bash}\n',
      'local.repo': '[local]\nbaseurl=file:///srv/rpms\ngpgcheck=0\n',
    });
    expect(errors).toEqual([]);
    expect(spec?.release).toBe('appliance');
  });

  test('an apt repo named deb-yaml takes the suite of its own sources, and plan says so', async () => {
    const { spec, errors } = await load('deb-yaml', {
      'repo-spec.yaml':
        'name: deb-yaml\npackagemanager: apt\nkernel: linux-image-cloud-amd64\ninit: /bin/init\npackages: {base: busybox}\n',
      'sources.list': 'deb http://mirror.invalid/debian trixie main\n',
    });
    expect(errors).toEqual([]);
    expect(spec?.release).toBe('trixie');
    expect(spec?.releaseFrom).toMatch(/^the suite of .*deb-yaml\/sources\.list$/);
  });

  test('without sources of its own, an apt repo takes the suite of the sources the build uses', async () => {
    const f = await makeRepo('deb-yaml', {
      'repo-spec.yaml':
        'name: deb-yaml\npackagemanager: apt\nkernel: k\ninit: /bin/init\npackages: {base: busybox}\n',
      'elsewhere/x.sources':
        'Types: deb\nURIs: http://mirror.invalid/debian\nSuites: forky\nComponents: main\n',
    });
    fixtures.push(f);
    const saved = process.env[APT_SOURCES_ENV];
    process.env[APT_SOURCES_ENV] = join(f.dir, 'elsewhere/x.sources');
    try {
      const { spec, errors } = await loadRepoFolder(f.dir);
      expect(errors).toEqual([]);
      expect(spec?.release).toBe('forky');
    } finally {
      if (saved === undefined) delete process.env[APT_SOURCES_ENV];
      else process.env[APT_SOURCES_ENV] = saved;
    }
  });
});
