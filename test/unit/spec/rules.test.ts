// The package managers a spec is checked against: src/pm/index.ts hands them to src/spec/.
import '../../../src/pm/index.js';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { parseSpecText } from '../../../src/spec/document.js';
import { readDriversArray } from '../../../src/spec/drivers-array.js';
import { scanRepoFolder } from '../../../src/spec/folder.js';
import { normaliseSpec } from '../../../src/spec/normalise.js';
import { aptOnlyFields, aptReleaseDerivable, aptSourcesUnique } from '../../../src/pm/apt-spec.js';
import { ociSource } from '../../../src/pm/oci-spec.js';
import { rpmRepoFiles } from '../../../src/pm/rpm-spec.js';
import { testExpectPattern, testNamesUnique, testsBootable } from '../../../src/spec/boot-test-rules.js';
import {
  bootFirmware,
  checkHooksParse,
  checkInitDrivers,
  checkInsideRepo,
  filesInsideRepo,
  kernelBuild,
  kernelFileFormat,
  minimiseGlobs,
  nameMatchesFolder,
  stagingScriptSafe,
  stagingScriptWords,
  type Rule,
} from '../../../src/spec/rules.js';
import type { RepoSpec } from '../../../src/spec/types.js';
import { BASE_SPEC, makeRepo, type RepoFixture } from './repo-fixture.js';

const fixtures: RepoFixture[] = [];
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.remove()));
});

/** Run one rule on a repo folder built from `spec` and `files`; returns "pointer: message" per finding. */
async function runRule(
  rule: Rule,
  spec: Record<string, unknown>,
  files: Record<string, string | { symlink: string }> = {},
  folderName = 'debian-12',
): Promise<string[]> {
  const fixture = await makeRepo(folderName, { 'repo-spec.json': JSON.stringify(spec, null, 2), ...files });
  fixtures.push(fixture);
  const specFile = join(fixture.dir, 'repo-spec.json');
  const doc = parseSpecText(specFile, JSON.stringify(spec, null, 2));
  const folder = await scanRepoFolder(fixture.dir);
  const raw = spec as unknown as RepoSpec;
  const resolved = normaliseSpec(raw, fixture.dir, specFile, folder, []);
  const found = await rule.check({ doc, raw, spec: resolved, folder });
  return found.map(
    (f) => `${f.severity === 'warning' ? 'warning ' : ''}${f.diagnostic.pointer}: ${f.diagnostic.message}`,
  );
}

describe('name-matches-folder', () => {
  test('the name must equal the folder name', async () => {
    expect(await runRule(nameMatchesFolder, BASE_SPEC)).toEqual([]);
    expect(await runRule(nameMatchesFolder, { ...BASE_SPEC, name: 'debian-13' })).toEqual([
      '/name: name "debian-13" does not match the folder name "debian-12": set name to "debian-12" or rename the folder',
    ]);
  });

  test('the folder name must itself be safe', async () => {
    expect(await runRule(nameMatchesFolder, { ...BASE_SPEC, name: 'my repo' }, {}, 'my repo')).toEqual([
      '/name: the folder name "my repo" is not a safe repo name: rename the folder using letters, digits, ".", "_" and "-"',
    ]);
  });
});

test('release-derivable', async () => {
  expect(await runRule(aptReleaseDerivable, BASE_SPEC)).toEqual([]);
  expect(await runRule(aptReleaseDerivable, { ...BASE_SPEC, name: 'custom' }, {}, 'custom')).toEqual([
    '/name: no apt suite: the name "custom" is not debian-<version> and no apt sources (the repo\'s, else the host\'s) name a suite: set "release" (e.g. "bookworm")',
  ]);
  expect(
    await runRule(aptReleaseDerivable, { ...BASE_SPEC, name: 'custom', release: 'trixie' }, {}, 'custom'),
  ).toEqual([]);
});

describe('files-inside-repo', () => {
  test('kernel, sources, tether and app files inside the folder pass', async () => {
    const spec = {
      ...BASE_SPEC,
      kernel: 'kernels/linux.deb',
      tether: 'tether-linux',
      apt: { sources: 'debian.sources' },
      app: { run: ['/app/run'], files: [{ src: 'app', dest: '/app' }] },
    };
    const files = {
      'kernels/linux.deb': 'deb',
      'tether-linux': 'elf',
      'debian.sources': 'Types: deb\n',
      'app/run': '#!/bin/sh\n',
      'linked.deb': { symlink: 'kernels/linux.deb' },
    };
    expect(await runRule(filesInsideRepo, spec, files)).toEqual([]);
    expect(await runRule(filesInsideRepo, { ...spec, kernel: 'linked.deb' }, files)).toEqual([]);
  });

  test('absolute paths, .. and missing files', async () => {
    expect(
      await runRule(filesInsideRepo, {
        ...BASE_SPEC,
        kernel: '/boot/linux.deb',
        tether: 'bin/../../tether',
        app: { run: ['/x'], files: [{ src: 'missing', dest: '/x' }] },
      }),
    ).toEqual([
      '/kernel: "/boot/linux.deb" must be a path relative to the repo folder, not an absolute path',
      '/tether: "bin/../../tether" must stay inside the repo folder: remove the ".." and copy the file into the folder',
      expect.stringMatching(
        /^\/app\/files\/0\/src: file not found: "missing" \(paths are relative to the repo folder .*debian-12\)$/,
      ),
    ]);
  });

  test('a symlink that leads out of the folder, in the spec or among the files found by name', async () => {
    const found = await runRule(
      filesInsideRepo,
      { ...BASE_SPEC, kernel: 'linux.deb' },
      { 'linux.deb': { symlink: '/etc/hostname' }, 'evil.repo': { symlink: '/etc/passwd' } },
    );
    expect(found).toEqual([
      expect.stringMatching(
        /^\/kernel: "linux.deb" leads outside the repo folder through a symlink \(to \/etc\/hostname\)/,
      ),
      expect.stringMatching(
        /^: "evil.repo" leads outside the repo folder through a symlink \(to \/etc\/passwd\)/,
      ),
    ]);
  });

  test('checkInsideRepo: a folder is refused where a file is needed', async () => {
    const fixture = await makeRepo('r', { 'sub/file': 'x' });
    fixtures.push(fixture);
    expect(await checkInsideRepo(fixture.dir, 'sub')).toBe('"sub" must be a file');
    expect(await checkInsideRepo(fixture.dir, 'sub', { allowDirectory: true })).toBeUndefined();
    expect(await checkInsideRepo(fixture.dir, 'sub/file')).toBeUndefined();
  });
});

test('kernel-file-format: a path must be a .rpm or .deb', async () => {
  expect(await runRule(kernelFileFormat, { ...BASE_SPEC, kernel: 'linux-image-cloud-amd64' })).toEqual([]);
  expect(await runRule(kernelFileFormat, { ...BASE_SPEC, kernel: 'kernels/linux-esx.rpm' })).toEqual([]);
  expect(await runRule(kernelFileFormat, { ...BASE_SPEC, kernel: 'boot/vmlinuz' })).toEqual([
    '/kernel: "boot/vmlinuz" looks like a path but is not a .rpm or .deb file: give a kernel package file, or a package name without "/"',
  ]);
});

test('kernel-build: a known preset or a config path, sha256 only with a tarball, a source package only with apt', async () => {
  const built = (kernel: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
    ...BASE_SPEC,
    ...over,
    kernel: { source: 'linux-source-6.1', config: 'microvm', ...kernel },
  });
  expect(await runRule(kernelBuild, built({}))).toEqual([]);
  expect(await runRule(kernelBuild, built({ config: 'kernel/my.config' }))).toEqual([]);
  expect(
    await runRule(kernelBuild, built({ source: 'linux-6.1.119.tar.xz', sha256: 'a'.repeat(64) })),
  ).toEqual([]);
  expect(await runRule(kernelBuild, built({ config: 'microvn' }))).toEqual([
    '/kernel/config: unknown kernel preset "microvn": use one of microvm, iso, or a .config file in the repo folder (a path with "/" or ending .config)',
  ]);
  expect(await runRule(kernelBuild, built({ sha256: 'a'.repeat(64) }))).toEqual([
    '/kernel/sha256: sha256 checks a source tarball, but "linux-source-6.1" is a package name (the package manager checks packages): remove sha256, or give a .tar.xz in the repo folder',
  ]);
  const photon = { name: 'photon-2.0', packagemanager: 'tdnf' };
  expect(await runRule(kernelBuild, built({}, photon), {}, 'photon-2.0')).toEqual([
    '/kernel/source: packagemanager tdnf cannot fetch the source package "linux-source-6.1" on its own: give a kernel source tarball in the repo folder (linux-6.1.119.tar.xz)',
  ]);
});

test("files-inside-repo: a kernel object's tarball, config file and fragments", async () => {
  const spec = {
    ...BASE_SPEC,
    kernel: {
      source: 'src/linux.tar.xz',
      config: 'k/base.config',
      fragments: ['k/extra.config', 'k/gone.config'],
    },
  };
  const files = { 'src/linux.tar.xz': 'x', 'k/base.config': '', 'k/extra.config': '' };
  expect(await runRule(filesInsideRepo, spec, files)).toEqual([
    expect.stringMatching(/^\/kernel\/fragments\/1: file not found: "k\/gone.config"/),
  ]);
});

test('rpm-repo-files: without a *.repo file the host’s are used, with a warning (VIC’s ci repo)', async () => {
  const photon = { ...BASE_SPEC, name: 'photon-2.0', packagemanager: 'tdnf', kernel: 'linux-esx' };
  // runRule does not look at the host: with no repo files at all the warning says a build fails.
  expect(await runRule(rpmRepoFiles, photon, {}, 'photon-2.0')).toEqual([
    "warning /packagemanager: no *.repo file in the repo folder and none in the host's /etc/yum.repos.d: a build fails until you add one, e.g. photon-2.0.repo",
  ]);
  expect(await runRule(rpmRepoFiles, photon, { 'photon.repo': '[photon]\n' }, 'photon-2.0')).toEqual([]);
  // VIC's *.repo.local variants are not repo files.
  expect(
    await runRule(rpmRepoFiles, { ...photon, packagemanager: 'yum' }, { 'a.repo.local': '' }, 'photon-2.0'),
  ).toHaveLength(1);
  expect(await runRule(rpmRepoFiles, BASE_SPEC)).toEqual([]);
});

test('apt-only-fields: warnings, not errors', async () => {
  const photon = { ...BASE_SPEC, name: 'photon-2.0', packagemanager: 'tdnf', apt: { variant: 'minbase' } };
  expect(await runRule(aptOnlyFields, photon, { 'photon.repo': '' }, 'photon-2.0')).toEqual([
    'warning /apt: ignored: the apt section only applies to packagemanager "apt" (this repo uses tdnf); remove it',
  ]);
  expect(await runRule(aptOnlyFields, BASE_SPEC, { 'x.repo': '' })).toEqual([
    'warning /packagemanager: ignored: x.repo (yum repository definitions) are not read by apt; use a .sources or sources.list file',
  ]);
  expect(await runRule(aptOnlyFields, BASE_SPEC)).toEqual([]);
});

test('apt-sources-unique: several sources files need apt.sources to choose', async () => {
  const files = { 'a.sources': '', 'sources.list': '' };
  expect(await runRule(aptSourcesUnique, BASE_SPEC, files)).toEqual([
    '/packagemanager: several apt sources files (a.sources, sources.list): set apt.sources to the one to use',
  ]);
  expect(await runRule(aptSourcesUnique, { ...BASE_SPEC, apt: { sources: 'a.sources' } }, files)).toEqual([]);
});

describe('staging-script-safe', () => {
  test.each(['erase toybox', 'install less', ''])('%j is fine', async (script) => {
    expect(
      await runRule(stagingScriptSafe, { ...BASE_SPEC, packages_script_staging: { appliance: script } }),
    ).toEqual([]);
  });

  test.each([...';|&$`<>(){}*?~!#\'"\\'])('%j is refused', async (ch) => {
    const found = await runRule(stagingScriptSafe, {
      ...BASE_SPEC,
      packages_script_staging: { bootstrap: `erase x${ch}y` },
    });
    expect(found).toEqual([
      expect.stringContaining(`/packages_script_staging/bootstrap: contains the shell metacharacter "${ch}"`),
    ]);
  });

  test('a line break is refused', async () => {
    const found = await runRule(stagingScriptSafe, {
      ...BASE_SPEC,
      packages_script_staging: { appliance: 'a\nb' },
    });
    expect(found).toEqual([expect.stringContaining('contains the shell metacharacter a line break')]);
  });
});

describe('staging-script-words: each package manager checks its own words at validate time', () => {
  test.each([
    ['tdnf', 'erase toybox'],
    ['yum', 'install -y less'],
    ['dnf', 'autoremove'],
    ['apt', 'erase toybox'],
    ['apt', 'autoremove'],
  ])('%s: %j is fine', async (packagemanager, script) => {
    const spec = { ...BASE_SPEC, packagemanager, packages_script_staging: { appliance: script } };
    expect(await runRule(stagingScriptWords, spec)).toEqual([]);
  });

  test.each([
    ['tdnf', 'frobnicate toybox', "'frobnicate' is not a subcommand a staging script may run"],
    ['dnf', 'install --nogpgcheck less', 'not package names: "--nogpgcheck"'],
    ['yum', 'erase', "'erase' needs at least one package name"],
    ['apt', 'frobnicate toybox', "apt has no equivalent of 'frobnicate'"],
  ])('%s: %j is refused', async (packagemanager, script, why) => {
    const spec = { ...BASE_SPEC, packagemanager, packages_script_staging: { bootstrap: script } };
    expect(await runRule(stagingScriptWords, spec)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^/packages_script_staging/bootstrap: .*${why.replace(/[()]/g, '\\$&')}.*\\(packagemanager ${packagemanager}\\)$`,
        ),
      ),
    ]);
  });
});

test('boot-firmware', async () => {
  expect(await runRule(bootFirmware, { ...BASE_SPEC, boot: { bios: false } })).toEqual([]);
  expect(await runRule(bootFirmware, { ...BASE_SPEC, boot: { bios: false, uefi: false } })).toEqual([
    '/boot: both bios and uefi are false: enable at least one firmware',
  ]);
});

test('minimise-glob: an unclosed brace, bracket or group is found at validate time', async () => {
  const minimise = {
    workloads: [{ argv: ['/bin/true'] }],
    keep: ['/etc/ssl/certs/**', '/usr/{a,b'],
    list_dirs: ['/usr/lib/[ab'],
    exclude: ['**/__pycache__/**', 'usr/share/@(doc'],
  };
  expect(await runRule(minimiseGlobs, { ...BASE_SPEC, minimise })).toEqual([
    '/minimise/keep/1: "/usr/{a,b" is not a valid glob: a "{" is never closed by "}" (write \\{ for a literal "{")',
    '/minimise/list_dirs/0: "/usr/lib/[ab" is not a valid glob: a "[" is never closed by "]" (write \\[ for a literal "[")',
    '/minimise/exclude/1: "usr/share/@(doc" is not a valid glob: a "(" is never closed by ")" (write \\( for a literal "(")',
  ]);
  expect(
    await runRule(minimiseGlobs, {
      ...BASE_SPEC,
      minimise: { ...minimise, keep: [], list_dirs: [], exclude: [] },
    }),
  ).toEqual([]);
});

test('tests: unique names, expect patterns that compile, and targets whose output boots', async () => {
  const tests = [
    { name: 'a', run: 'true' },
    { name: 'b', run: 'true', expect: '(unclosed', target: 'appliance' },
    { name: 'a', run: 'true', target: 'rootfs-tar' },
    { name: 'c', run: 'true', expect: '^ok$', target: 'firecracker' },
  ];
  expect(await runRule(testNamesUnique, { ...BASE_SPEC, tests })).toEqual([
    '/tests/2/name: test name "a" is already used by /tests/0: give each test its own name',
  ]);
  expect(await runRule(testExpectPattern, { ...BASE_SPEC, tests })).toEqual([
    expect.stringMatching(
      /^\/tests\/1\/expect: "\(unclosed" is not a valid regular expression \(.*\): escape the special characters$/,
    ),
  ]);
  expect(await runRule(testsBootable, { ...BASE_SPEC, tests })).toEqual([
    expect.stringMatching(
      /^\/tests\/2\/target: target rootfs-tar writes nothing that boots: use one of bootstrap, appliance, initrd, app, .*firecracker/,
    ),
  ]);
  expect(await runRule(testsBootable, { ...BASE_SPEC, tests: [tests[0], tests[3]] })).toEqual([]);
});

test('hooks-parse: bash -n on each hook, never running it', async () => {
  const fixture = await makeRepo('r', {
    'base.sh': '#!/bin/bash\ntouch "$0.ran"\n',
    'staging.sh': '#!/bin/bash\necho (\n',
    'init.sh': 'drivers=(a)\n',
  });
  fixtures.push(fixture);
  const folder = await scanRepoFolder(fixture.dir);
  const found = await checkHooksParse(folder.hooks);
  expect(
    found.map((f) => [f.diagnostic.file.endsWith('staging.sh'), f.diagnostic.line, f.diagnostic.rule]),
  ).toEqual([[true, 2, 'hooks-parse']]);
  expect(found[0]!.diagnostic.message).toMatch(
    /^bash -n: syntax error near unexpected token .*fix the shell syntax of staging.sh$/,
  );
  await expect(writeFile(join(fixture.dir, 'base.sh.ran'), '', { flag: 'wx' })).resolves.toBeUndefined();
});

test('init-drivers-readable: lexer errors and names that are not module names', () => {
  const text = 'drivers=(\n  "nfs"\n  "bad.name"\n)\n';
  expect(checkInitDrivers('/r/init.sh', readDriversArray(text)).map((f) => f.diagnostic)).toEqual([
    {
      file: '/r/init.sh',
      line: 3,
      col: 3,
      pointer: '',
      message: '"bad.name" in the drivers array is not a kernel module name (letters, digits, "_" and "-")',
      rule: 'init-drivers-readable',
    },
  ]);
  expect(checkInitDrivers('/r/init.sh', readDriversArray('drivers=($x)\n'))).toHaveLength(1);
});

describe('oci-source', () => {
  const OCI = { ...BASE_SPEC, packagemanager: 'oci', packages: { base: '' } };

  test('an image or a Dockerfile, exactly one', async () => {
    expect(await runRule(ociSource, { ...OCI, image: 'oci-archive:base.tar' })).toEqual([]);
    expect(await runRule(ociSource, { ...OCI, dockerfile: 'Dockerfile' })).toEqual([]);
    expect(await runRule(ociSource, OCI)).toEqual([
      '/packagemanager: packagemanager "oci" takes the root from an image: set "image" (e.g. "oci-archive:base.tar") or "dockerfile" (e.g. "Dockerfile")',
    ]);
    expect(await runRule(ociSource, { ...OCI, image: 'x.tar', dockerfile: 'Dockerfile' })).toEqual([
      '/dockerfile: set "image" or "dockerfile", not both',
    ]);
  });

  test('an unreadable image reference and base packages are errors at their pointers', async () => {
    expect(await runRule(ociSource, { ...OCI, image: 'debian:12', packages: { base: 'bash' } })).toEqual([
      '/image: image reference "debian:12": unknown transport; use one of oci:, oci-archive:, docker-archive:, containers-storage:, docker:',
      '/packages/base: an oci root is the image itself: install base packages in the Dockerfile and leave packages.base empty ("")',
    ]);
  });

  test('image and dockerfile need packagemanager oci', async () => {
    expect(await runRule(ociSource, { ...BASE_SPEC, dockerfile: 'Dockerfile' })).toEqual([
      '/dockerfile: "dockerfile" needs packagemanager "oci" (this repo uses apt)',
    ]);
  });

  test('the Dockerfile must be inside the repo folder', async () => {
    expect(await runRule(filesInsideRepo, { ...OCI, dockerfile: '../Dockerfile' })).toEqual([
      expect.stringMatching(/^\/dockerfile: /),
    ]);
  });
});
