import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { BuildError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { linkFiles, makeAptEnv } from '../../../src/pm/apt-chroot.js';
import {
  APT_SOURCES_ENV,
  aimHostSources,
  findAptSources,
  findHostSources,
  hasEntries,
  hostCodename,
  retargetSources,
} from '../../../src/pm/apt-sources.js';
import {
  aptPackageManager,
  checkPackageArgs,
  kernelDependency,
  makeAptConfig,
  makeAptDownloadConfig,
  mmdebstrapArgs,
  parseAptScript,
  retriesOnFreshLists,
} from '../../../src/pm/apt.js';
import { keyFileName } from '../../../src/pm/apt-keys.js';
import { makeAptStandaloneConfig, standaloneSourcesName } from '../../../src/pm/apt-standalone.js';
import type { ResolvedSpec } from '../../../src/spec/types.js';

let tmp: DirectoryResult;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
});
afterEach(() => tmp.cleanup());

function aptSpec(extra: Partial<ResolvedSpec['apt']> = {}): ResolvedSpec {
  return {
    name: 'debian-12',
    release: 'bookworm',
    packagemanager: 'apt',
    apt: { variant: 'minbase', components: ['main'], ...extra },
  } as unknown as ResolvedSpec;
}

describe('packages_script_staging in rpm words maps onto apt-get', () => {
  test.each([
    [['erase', 'toybox'], { verb: 'purge', packages: ['toybox'] }],
    [['remove', 'a', 'b'], { verb: 'purge', packages: ['a', 'b'] }],
    [['purge', 'a'], { verb: 'purge', packages: ['a'] }],
    [['install', 'less', '-y'], { verb: 'install', packages: ['less'] }],
    [['autoremove'], { verb: 'autoremove', packages: [] }],
  ])('%j', (args, expected) => {
    expect(parseAptScript(args)).toEqual(expected);
  });

  test('an empty script does nothing', () => {
    expect(parseAptScript([])).toBeUndefined();
    expect(parseAptScript(['-y'])).toBeUndefined();
  });

  test.each([
    [['update'], "apt has no equivalent of 'update'"],
    [['groupinstall', 'x'], "apt has no equivalent of 'groupinstall'"],
    [['erase'], "'erase' needs at least one package name"],
    [['install', '--allow-unauthenticated'], "not an apt package name: '--allow-unauthenticated'"],
  ])('%j is refused: %s', (args, message) => {
    expect(() => parseAptScript(args)).toThrow(BuildError);
    expect(() => parseAptScript(args)).toThrow(message);
  });
});

test('package arguments that apt-get could read as options are refused', () => {
  expect(() =>
    checkPackageArgs(['less', 'libc6:amd64', 'bash=5.2.15-2+b7', 'linux-image-amd64/bookworm-backports']),
  ).not.toThrow();
  expect(() => checkPackageArgs(['-o', 'Foo=bar'])).toThrow("not an apt package name: '-o'");
  expect(() => checkPackageArgs(['a b'])).toThrow(BuildError);
});

test('mmdebstrap arguments: merged-usr hook, variant, base packages, cache hooks, suite, target, sources', () => {
  const args = mmdebstrapArgs(
    aptSpec(),
    ['kmod', 'busybox'],
    '/t/root',
    ['/etc/apt/sources.list.d/x.sources'],
    '/c/pk g',
  );
  expect(args).toContain('--mode=root');
  expect(args).toContain('--variant=minbase');
  expect(args).toContain('--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr');
  expect(args).toContain('--include=kmod,busybox');
  expect(args).toContain('--skip=essential/unlink');
  // Paths in special hooks are shell words for mmdebstrap: quoted.
  expect(args).toContain("--setup-hook=sync-in '/c/pk g/apt/archives' /var/cache/apt/archives/");
  expect(args).toContain("--customize-hook=sync-out /var/cache/apt/archives '/c/pk g/apt/archives'");
  expect(args).toContain("--customize-hook=sync-out /var/lib/apt/lists '/c/pk g/apt/lists'");
  expect(args.slice(-3)).toEqual(['bookworm', '/t/root', '/etc/apt/sources.list.d/x.sources']);
  expect(mmdebstrapArgs(aptSpec(), [], '/t', [], '/c').some((a) => a.startsWith('--include'))).toBe(false);
});

test('describe shows pasteable commands for each operation', () => {
  const setup = aptPackageManager.describe(aptSpec({ sources: '/repo/sources.list' }), 'setup', ['kmod']);
  expect(setup[0]).toMatch(
    /^SOURCE_DATE_EPOCH=\S+ mmdebstrap .*--include=kmod .*bookworm .*\/repo\/sources.list$/,
  );
  expect(aptPackageManager.describe(aptSpec(), 'install', ['less'])).toContain(
    'APT_CONFIG=$TMP/apt.conf apt-get install -y --no-install-recommends less',
  );
  expect(aptPackageManager.describe(aptSpec(), 'script', ['erase', 'toybox'])).toContain(
    'APT_CONFIG=$TMP/apt.conf apt-get purge -y toybox',
  );
  expect(aptPackageManager.describe(aptSpec(), 'install', [])).toEqual([]);
});

test('the tools it needs each come with a reason', () => {
  const tools = aptPackageManager.tools(aptSpec());
  expect(tools.map((t) => t.tool)).toEqual(expect.arrayContaining(['mmdebstrap', 'chroot', 'mount']));
  for (const t of tools) expect(t.reason.length).toBeGreaterThan(10);
});

describe('apt sources', () => {
  test.each([
    ['deb http://m/debian bookworm main\n', true],
    ['# deb http://m/debian bookworm main\n', false],
    ['Types: deb\nURIs: http://m/debian\nSuites: bookworm\nComponents: main\n', true],
    ['Types: deb\nURIs: http://m/debian\nSuites: bookworm\nEnabled: no\n', false],
    ['', false],
  ])('hasEntries(%j) is %s', (text, expected) => {
    expect(hasEntries(text)).toBe(expected);
  });

  test("the host's sources.list and sources.list.d files with entries, sorted", async () => {
    const etc = join(tmp.path, 'etc-apt');
    await mkdir(join(etc, 'sources.list.d'), { recursive: true });
    await writeFile(join(etc, 'sources.list'), '# nothing here\n');
    await writeFile(join(etc, 'sources.list.d', 'b.sources'), 'Types: deb\nURIs: http://m/d\nSuites: s\n');
    await writeFile(join(etc, 'sources.list.d', 'a.list'), 'deb http://m/d s main\n');
    await writeFile(join(etc, 'sources.list.d', 'c.list.disabled'), 'deb http://m/d s main\n');
    expect(await findHostSources(etc)).toEqual([
      join(etc, 'sources.list.d', 'a.list'),
      join(etc, 'sources.list.d', 'b.sources'),
    ]);
  });

  test('precedence: the environment, then the spec, then the host', async () => {
    const etc = join(tmp.path, 'etc-apt');
    await mkdir(etc, { recursive: true });
    await writeFile(join(etc, 'sources.list'), 'deb http://m/d s main\n');
    expect(await findAptSources(aptSpec(), { [APT_SOURCES_ENV]: '/x.list' }, etc)).toEqual({
      files: ['/x.list'],
      origin: 'env',
    });
    expect(await findAptSources(aptSpec({ sources: '/s.list' }), {}, etc)).toEqual({
      files: ['/s.list'],
      origin: 'spec',
    });
    expect(await findAptSources(aptSpec(), {}, etc)).toEqual({
      files: [join(etc, 'sources.list')],
      origin: 'host',
    });
  });

  test('the environment may name several files, separated by ":" as in PATH, kept in order', async () => {
    expect(await findAptSources(aptSpec(), { [APT_SOURCES_ENV]: '/b.sources:/a.list:' }, '/none')).toEqual({
      files: ['/b.sources', '/a.list'],
      origin: 'env',
    });
  });

  test('no sources anywhere says how to give some', async () => {
    await expect(findAptSources(aptSpec(), {}, join(tmp.path, 'none'))).rejects.toThrow(
      /no apt sources: .* set apt.sources in the repo spec or ISOBUILD_APT_SOURCES=<file>/,
    );
  });
});

test('apt-get runs with a fixed environment: only proxies pass through', () => {
  const env = makeAptEnv(1700000000, { HOME: '/home/me', http_proxy: 'http://proxy:3128', SECRET: 'x' });
  expect(env).toEqual({
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    LC_ALL: 'C',
    DEBIAN_FRONTEND: 'noninteractive',
    DEBCONF_NONINTERACTIVE_SEEN: 'true',
    INITRD: 'No',
    SOURCE_DATE_EPOCH: '1700000000',
    http_proxy: 'http://proxy:3128',
  });
});

test('the package cache is hard-linked in and new downloads linked back out', async () => {
  const cache = join(tmp.path, 'cache');
  const root = join(tmp.path, 'archives');
  await mkdir(cache);
  await mkdir(root);
  await writeFile(join(cache, 'a.deb'), 'a');
  await writeFile(join(cache, 'notes.txt'), 'n');
  const isDeb = (n: string) => n.endsWith('.deb');
  expect(await linkFiles(cache, root, isDeb, false)).toBe(1);
  expect((await stat(join(root, 'a.deb'))).ino).toBe((await stat(join(cache, 'a.deb'))).ino);
  await writeFile(join(root, 'b.deb'), 'b');
  expect(await linkFiles(root, cache, isDeb, true)).toBe(1);
  expect(await readFile(join(cache, 'b.deb'), 'utf8')).toBe('b');
});

test("apt.conf points the host's apt-get at the root and runs dpkg chrooted", () => {
  const conf = makeAptConfig('/cache/work/rootfs');
  expect(conf).toContain('Dir "/cache/work/rootfs/";');
  expect(conf).toContain('DPkg::Chroot-Directory "/cache/work/rootfs";');
  expect(conf).toContain('APT::Install-Recommends "false";');
  expect(() => makeAptConfig('/a"b')).toThrow(BuildError);
});

test('repo keys are named for trusted.gpg.d and handed to mmdebstrap with a keyring of their own', () => {
  expect(keyFileName('/r/VMWARE-RPM-GPG-KEY', Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----'))).toBe(
    'VMWARE-RPM-GPG-KEY.asc',
  );
  expect(keyFileName('/r/vendor.gpg', Buffer.from([0x99, 0x01]))).toBe('vendor.gpg');
  const args = mmdebstrapArgs(aptSpec(), [], '/t', [], '/c', { keyringDir: '/k', files: ['/k/vendor.gpg'] });
  expect(args).toContain('--keyring=/k');
  expect(args).toContain('--setup-hook=copy-in /k/vendor.gpg /etc/apt/trusted.gpg.d/');
});

test('clean removes downloads, lists and logs, and leaves an empty machine-id', async () => {
  const root = join(tmp.path, 'root');
  const files = {
    'var/cache/apt/archives/less_590-2_amd64.deb': 'deb',
    'var/cache/apt/pkgcache.bin': 'bin',
    'var/lib/apt/lists/m_debian_dists_bookworm_InRelease': 'rel',
    'var/log/apt/history.log': 'log',
    'var/log/dpkg.log': 'log',
    'var/lib/dbus/machine-id': 'id',
    'etc/machine-id': '8d255033c45b4e6c88a86eb039607905\n',
    'etc/keep.conf': 'keep',
  };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
  await mkdir(join(root, 'var/cache/apt/archives/partial'));
  await aptPackageManager.clean({ rootfs: root } as Parameters<typeof aptPackageManager.clean>[0]);
  const { stdout } = await run('find', [root, '-type', 'f']);
  expect(stdout.split('\n').filter(Boolean).sort()).toEqual([
    join(root, 'etc/keep.conf'),
    join(root, 'etc/machine-id'),
  ]);
  expect(await readFile(join(root, 'etc/machine-id'), 'utf8')).toBe('');
  expect(existsSync(join(root, 'var/cache/apt/archives/partial'))).toBe(true);
});

describe('host sources aimed at the spec release', () => {
  const deb822 = [
    'Types: deb',
    '# a comment stays',
    'URIs: http://m/debian',
    'Suites: bookworm bookworm-updates',
    'Components: main',
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
    '',
    'Types: deb',
    'URIs: http://m/debian-security',
    'Suites: bookworm-security',
    'Components: main',
    '',
  ].join('\n');

  test('deb822 suites and components are rewritten, everything else kept', () => {
    const out = retargetSources(deb822, 'bookworm', 'trixie', ['main', 'contrib']);
    expect(out).toContain('Suites: trixie trixie-updates\nComponents: main contrib\n');
    expect(out).toContain('Suites: trixie-security\n');
    expect(out).toContain('# a comment stays\nURIs: http://m/debian\n');
    expect(out).toContain('Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg');
  });

  test('one-line entries too, options kept', () => {
    expect(
      retargetSources('deb [arch=amd64] http://m/debian bookworm-updates main\n', 'bookworm', 'trixie', [
        'main',
      ]),
    ).toBe('deb [arch=amd64] http://m/debian trixie-updates main\n');
  });

  test('the same release and components leave the host file untouched and unused copies unwritten', async () => {
    const file = join(tmp.path, 'debian.sources');
    await writeFile(file, deb822);
    const dir = join(tmp.path, 'aimed');
    expect(await aimHostSources([file], 'bookworm', ['main'], dir, 'bookworm')).toEqual([file]);
    const [aimed] = await aimHostSources([file], 'trixie', ['main'], dir, 'bookworm');
    expect(aimed).toBe(join(dir, '00-debian.sources'));
    expect(await readFile(aimed as string, 'utf8')).toContain('Suites: trixie trixie-updates');
  });

  test("the host's codename comes from os-release", async () => {
    const osRelease = join(tmp.path, 'os-release');
    await writeFile(osRelease, 'NAME="Debian GNU/Linux"\nVERSION_CODENAME=bookworm\n');
    expect(await hostCodename(osRelease)).toBe('bookworm');
    expect(await hostCodename(join(tmp.path, 'missing'))).toBeUndefined();
  });
});

test('docs filters go in after the first extraction (no --dpkgopt) and fresh lists skip the update step', () => {
  const args = mmdebstrapArgs(aptSpec(), [], '/t', [], '/c', undefined, {
    docs: { config: '/tmp/x/isobuild-docs', script: '/tmp/x/docs-filter.sh' },
    skipUpdate: true,
  });
  expect(args).toContain(
    '--extract-hook=mkdir -p "$1"/etc/dpkg/dpkg.cfg.d && cp /tmp/x/isobuild-docs "$1"/etc/dpkg/dpkg.cfg.d/isobuild-docs',
  );
  expect(args).toContain('--extract-hook=sh /tmp/x/docs-filter.sh "$1"');
  // --dpkgopt path filters make mmdebstrap run its Python tar filter once per essential package.
  expect(args.filter((a) => a.startsWith('--dpkgopt=path-'))).toEqual([]);
  expect(args).toContain('--skip=update');
  expect(mmdebstrapArgs(aptSpec(), [], '/t', [], '/c')).not.toContain('--skip=update');
});

test('a kernel metapackage is followed to the linux-image package it depends on', () => {
  expect(
    kernelDependency(
      'Package: linux-image-cloud-amd64\nDepends: linux-image-6.1.0-57-cloud-amd64 (= 6.1.192-3)\n',
    ),
  ).toBe('linux-image-6.1.0-57-cloud-amd64');
  expect(
    kernelDependency(
      'Depends: kmod, linux-base (>= 4.3~), initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool\n',
    ),
  ).toBe(undefined);
  expect(
    kernelDependency('Depends: linux-image-6.1.0-57-amd64-unsigned:amd64 | linux-image-6.1.0-57-amd64\n'),
  ).toBe('linux-image-6.1.0-57-amd64-unsigned');
});

test('the download config reads the lists from the package cache and writes no binary cache', () => {
  const conf = makeAptDownloadConfig('/r', '/c/apt/lists');
  expect(conf).toContain('Dir "/r/";');
  expect(conf).toContain('Dir::State::Lists "/c/apt/lists/";');
  expect(conf).toContain('Dir::Cache::pkgcache "";');
  expect(() => makeAptDownloadConfig('/r', '/c/"x')).toThrow(BuildError);
});

test("the config for the kernel beside mmdebstrap reads no root and none of the host's apt but its keys", () => {
  const conf = makeAptStandaloneConfig({
    etc: '/t/kernel-apt/etc',
    state: '/t/kernel-apt/state',
    cache: '/t/kernel-apt/cache',
    trustedParts: '/etc/apt/trusted.gpg.d',
    lists: '/c/apt/lists',
    archives: '/c/apt/archives',
  });
  // Dir::Etc holds the sources.list.d, apt.conf.d and preferences.d apt reads: only ours.
  expect(conf).toContain('Dir::Etc "/t/kernel-apt/etc/";');
  expect(conf).toContain('Dir::Etc::TrustedParts "/etc/apt/trusted.gpg.d/";');
  expect(conf).toContain('Dir::State::status "/t/kernel-apt/state/status";');
  expect(conf).toContain('Dir::State::Lists "/c/apt/lists/";');
  expect(conf).toContain('Dir::Cache::Archives "/c/apt/archives/";');
  // Its binary cache stays in the scratch folder, never beside the package cache's lists.
  expect(conf).toContain('Dir::Cache::pkgcache "/t/kernel-apt/cache/pkgcache.bin";');
  expect(conf).toContain('Dir::Cache::srcpkgcache "";');
  expect(conf).not.toMatch(/Chroot|\/root\//);
  expect(() =>
    makeAptStandaloneConfig({
      etc: '/t/"e',
      state: '/s',
      cache: '/c',
      trustedParts: '/k',
      lists: '/l',
      archives: '/a',
    }),
  ).toThrow(BuildError);
});

test('sources files keep their format under the names sources.list.d reads', () => {
  expect(standaloneSourcesName(0, 'Types: deb\nURIs: http://m/debian\nSuites: bookworm\n')).toBe(
    '00-isobuild.sources',
  );
  expect(standaloneSourcesName(3, 'deb http://m/debian bookworm main\n')).toBe('03-isobuild.list');
});

describe('a failed bootstrap on cached lists retries with fresh ones only when it failed by itself', () => {
  const failure = (script: string) =>
    run('sh', ['-c', script]).then(
      () => undefined,
      (err: unknown) => err,
    );

  test('a command that exits non-zero is retried', async () => {
    expect(retriesOnFreshLists(await failure('exit 100'), false)).toBe(true);
  });

  test('a command killed by SIGINT (Ctrl-C reaching its group) is not', async () => {
    const err = await failure('kill -INT $$');
    expect(err).toBeDefined();
    expect(retriesOnFreshLists(err, false)).toBe(false);
  });

  test('nothing is retried once the build is being interrupted', async () => {
    expect(retriesOnFreshLists(await failure('exit 100'), true)).toBe(false);
  });

  test('nothing is retried in a build with no network (build --from-bundle): its first error stands', async () => {
    expect(retriesOnFreshLists(await failure('exit 100'), false, true)).toBe(false);
  });

  test('an error that is not a command failure is not', () => {
    expect(retriesOnFreshLists(new BuildError('disk full', 'iso-base'), false)).toBe(false);
  });
});
