/**
 * The [main] section an RPM front end runs with, after VIC's isos/base/yum.conf and
 * tdnf.conf. Pure: the same settings always give the same text.
 */
export const RPM_TOOLS = ['dnf', 'yum', 'tdnf'] as const;
export type RpmTool = (typeof RPM_TOOLS)[number];

export interface RpmConfigPaths {
  /** Folder of *.repo files. */
  reposDir: string;
  /** Package and metadata cache. */
  cacheDir: string;
  /** Where the front end writes its own log files. */
  logDir: string;
  /**
   * dnf's and yum's history and state (default /var/lib/dnf, /var/lib/yum in the root). The
   * history records wall-clock times and scratch paths, so it stays out of the root, which
   * keeps builds reproducible; the rpm database is what records what is installed.
   */
  persistDir?: string;
}

/** Settings every front end gets; comments say why they are not the tools' defaults. */
const COMMON: readonly (readonly [string, string])[] = [
  // Keep downloaded packages: the cache outlives the root, so the next build downloads nothing.
  ['keepcache', '1'],
  // Repos that do not say are checked; a .repo's own gpgcheck= still decides for that repo.
  ['gpgcheck', '1'],
  // `erase toybox` removes toybox only, as tdnf does on photon, not what it pulled in.
  ['clean_requirements_on_remove', '0'],
  // Host plugins (subscription managers, versionlock...) must not change what lands in the root.
  ['plugins', '0'],
  ['debuglevel', '2'],
];

/**
 * The config and .repo copies are written afresh for every run, so they are always newer
 * than the cached metadata: without this dnf and yum would call the cache stale every time.
 */
const CONFIG_AGE: readonly [string, string] = ['check_config_file_age', '0'];

const SPECIFIC: Record<RpmTool, readonly (readonly [string, string])[]> = {
  dnf: [
    CONFIG_AGE,
    // Images stay small: recommended packages and documentation are left out.
    ['install_weak_deps', '0'],
    ['best', '1'],
    ['skip_if_unavailable', '0'],
  ],
  yum: [CONFIG_AGE, ['exactarch', '1'], ['obsoletes', '1'], ['skip_if_unavailable', '0']],
  tdnf: [],
};

const persist = (paths: RpmConfigPaths): [string, string][] =>
  paths.persistDir ? [['persistdir', paths.persistDir]] : [];

/** The keys naming the three paths differ between the tools (tdnf's historical `repodir`). */
function renderPaths(tool: RpmTool, paths: RpmConfigPaths): [string, string][] {
  switch (tool) {
    case 'dnf':
      return [
        ['reposdir', paths.reposDir],
        ['cachedir', paths.cacheDir],
        ['logdir', paths.logDir],
        ...persist(paths),
      ];
    case 'yum':
      return [
        ['reposdir', paths.reposDir],
        ['cachedir', paths.cacheDir],
        ['logfile', `${paths.logDir.replace(/\/$/, '')}/yum.log`],
        ...persist(paths),
      ];
    case 'tdnf':
      return [
        ['repodir', paths.reposDir],
        ['cachedir', paths.cacheDir],
      ];
  }
}

/** What the spec decides: docs (tsflags=nodocs unless true) and how old metadata may be. */
export interface RpmConfigChoices {
  docs?: boolean;
  /** Seconds cached metadata stays good (package_lists_max_age); 0 refreshes every run. */
  metadataExpire?: number;
}

export function renderRpmConfig(
  tool: RpmTool,
  paths: RpmConfigPaths,
  choices: RpmConfigChoices = {},
): string {
  const lines = ['# Written by isobuild.', '[main]'];
  const chosen: [string, string][] = [];
  // Images stay small: documentation is left out unless the spec says docs: true.
  if (tool !== 'tdnf' && !choices.docs) chosen.push(['tsflags', 'nodocs']);
  if (tool !== 'tdnf' && choices.metadataExpire !== undefined)
    chosen.push(['metadata_expire', String(choices.metadataExpire)]);
  for (const [k, v] of [...renderPaths(tool, paths), ...COMMON, ...SPECIFIC[tool], ...chosen])
    lines.push(`${k}=${v}`);
  return lines.join('\n') + '\n';
}

/** Where the tool keeps its cache inside an installed root (for the root's own config). */
export function rootCacheDir(tool: RpmTool): string {
  return `/var/cache/${tool}`;
}

/** The root's own configuration file, as VIC copies it into the image for later use. */
export function rootConfigPath(tool: RpmTool): string {
  return tool === 'yum' ? '/etc/yum.conf' : `/etc/${tool}/${tool}.conf`;
}
