import { renderRpmConfig, rootConfigPath } from '../../../src/pm/rpm-config.js';
import { buildFrontendArgs, pathOutOfRoot } from '../../../src/pm/rpm-session.js';

const PATHS = { reposDir: '/s/yum.repos.d', cacheDir: '/../../cache', logDir: '/../s/log' };

describe('renderRpmConfig', () => {
  test('dnf: VIC’s yum.conf settings plus what keeps the host out and the cache warm', () => {
    expect(renderRpmConfig('dnf', PATHS)).toBe(
      [
        '# Written by isobuild.',
        '[main]',
        'reposdir=/s/yum.repos.d',
        'cachedir=/../../cache',
        'logdir=/../s/log',
        'keepcache=1',
        'gpgcheck=1',
        'clean_requirements_on_remove=0',
        'plugins=0',
        'debuglevel=2',
        'check_config_file_age=0',
        'install_weak_deps=0',
        'best=1',
        'skip_if_unavailable=0',
        'tsflags=nodocs',
        '',
      ].join('\n'),
    );
  });

  test('docs: true drops nodocs; package_lists_max_age becomes metadata_expire', () => {
    const text = renderRpmConfig('dnf', PATHS, { docs: true, metadataExpire: 3600 });
    expect(text).not.toContain('tsflags');
    expect(text).toContain('metadata_expire=3600\n');
    expect(renderRpmConfig('dnf', PATHS, { metadataExpire: 0 })).toContain('metadata_expire=0\n');
  });

  test('yum names its log file, not a log folder', () => {
    const text = renderRpmConfig('yum', PATHS);
    expect(text).toContain('\nlogfile=/../s/log/yum.log\n');
    expect(text).not.toContain('logdir=');
    expect(text).toContain('\nreposdir=/s/yum.repos.d\n');
    expect(text).toContain('\ncheck_config_file_age=0\n');
  });

  test('tdnf uses its historical repodir key, as VIC’s tdnf.conf does', () => {
    const text = renderRpmConfig('tdnf', PATHS);
    expect(text).toContain('\nrepodir=/s/yum.repos.d\n');
    expect(text).not.toContain('reposdir=');
    expect(text).toContain('\nkeepcache=1\n');
  });

  test('the root’s own config lives where each tool looks for it', () => {
    expect(rootConfigPath('dnf')).toBe('/etc/dnf/dnf.conf');
    expect(rootConfigPath('yum')).toBe('/etc/yum.conf');
    expect(rootConfigPath('tdnf')).toBe('/etc/tdnf/tdnf.conf');
  });
});

describe('pathOutOfRoot', () => {
  test.each([
    ['/b/work/rootfs', '/b/cache/pkgs', '/../../cache/pkgs'],
    ['/b/rootfs', '/b/rootfs/var/cache/dnf', '/var/cache/dnf'],
    ['/a/b/c/rootfs', '/tmp/x', '/../../../../tmp/x'],
  ])('from %s to %s is %s once dnf puts the root in front', (root, target, expected) => {
    expect(pathOutOfRoot(root, target)).toBe(expected);
  });
});

describe('buildFrontendArgs', () => {
  const o = { root: '/r', config: '/s/c.conf', reposDir: '/s/repos', releasever: '2.0' };

  test('dnf and yum: config, root, release, our reposdir, no plugins, no questions', () => {
    const expected = [
      '-c',
      '/s/c.conf',
      '--installroot=/r',
      '--releasever=2.0',
      '--setopt=reposdir=/s/repos',
      '--noplugins',
      '--assumeyes',
    ];
    expect(buildFrontendArgs('dnf', o)).toEqual(expected);
    expect(buildFrontendArgs('yum', o)).toEqual(expected);
  });

  test('tdnf gets its cache on the command line, where it is not put under the root', () => {
    expect(buildFrontendArgs('tdnf', { ...o, tdnfCacheDir: '/cache' })).toEqual([
      '-c',
      '/s/c.conf',
      '--installroot=/r',
      '--releasever=2.0',
      '--setopt=reposdir=/s/repos',
      '--setopt=cachedir=/cache',
      '--assumeyes',
    ]);
  });
});
