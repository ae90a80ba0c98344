import { copyFile, lstat, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BuildError } from '../errors.js';
import type { ToolNeed } from '../exec/host-tools.js';
import { mergeTree } from '../rootfs/merge-tree.js';
import { resolveInRoot } from '../rootfs/root-path.js';
import type { ResolvedSpec } from '../spec/types.js';
import { APT_CACHE_DIRS, makeAptEnv, withAptChroot } from './apt-chroot.js';
import { aimHostSources, findAptSources } from './apt-sources.js';
import type { PackageManager, PmContext } from './types.js';
import { quoteWord } from '../exec/shell-quote.js';
import { readToolVersion } from '../exec/tool-version.js';

const MERGED_USR_HOOKS = '/usr/share/mmdebstrap/hooks/merged-usr';
const HOST_TRUSTED_PARTS = '/etc/apt/trusted.gpg.d';

/** What apt package arguments may look like: name, name=version, name/suite, name:arch. */
const PACKAGE_ARG = /^[a-z0-9][a-z0-9+.~_-]*(:[a-z0-9-]+)?([=/][A-Za-z0-9+.~:_-]+)?$/;

export type AptAction = { verb: 'purge' | 'install' | 'autoremove'; packages: string[] };

/**
 * packages_script_staging is written in VIC's rpm words (`erase toybox`); map them onto
 * apt-get. `-y` and `--assumeyes` are accepted and dropped: apt-get always runs with -y here.
 */
export function parseAptScript(args: readonly string[]): AptAction | undefined {
  const words = args.filter((a) => a !== '-y' && a !== '--assumeyes');
  if (!words.length) return undefined;
  const [verb, ...packages] = words as [string, ...string[]];
  const known: Record<string, AptAction['verb']> = {
    erase: 'purge',
    remove: 'purge',
    purge: 'purge',
    install: 'install',
    autoremove: 'autoremove',
  };
  const mapped = known[verb];
  if (!mapped)
    throw new BuildError(
      `packages_script_staging: apt has no equivalent of '${verb}'; ` +
        `use 'install PKG...', 'erase PKG...' (or remove/purge) or 'autoremove'`,
    );
  if (mapped !== 'autoremove' && !packages.length)
    throw new BuildError(`packages_script_staging: '${verb}' needs at least one package name`);
  checkPackageArgs(packages);
  return { verb: mapped, packages };
}

/** Refuse anything apt-get could read as an option: spec values never become flags. */
export function checkPackageArgs(packages: readonly string[]): void {
  const bad = packages.filter((p) => !PACKAGE_ARG.test(p));
  if (bad.length) throw new BuildError(`not an apt package name: ${bad.map((b) => `'${b}'`).join(', ')}`);
}

/** The mmdebstrap arguments for a spec, the package cache and the sources files. */
export function mmdebstrapArgs(
  spec: ResolvedSpec,
  basePackages: readonly string[],
  target: string,
  sources: readonly string[],
  pkgCacheDir: string,
  keys?: { keyringDir: string; files: readonly string[] },
): string[] {
  const args = [
    '--mode=root',
    `--variant=${spec.apt.variant}`,
    // Without it bookworm's apt pulls in usrmerge and with it perl.
    `--hook-dir=${MERGED_USR_HOOKS}`,
    // Keep the essential set's .debs for the sync-out below.
    '--skip=essential/unlink',
    // apt's own lines (Get:, Need to get) in the stage log instead of progress bars.
    '--verbose',
    // No fsync per file: a failed build's root is thrown away anyway.
    '--dpkgopt=force-unsafe-io',
  ];
  if (basePackages.length) args.push(`--include=${basePackages.join(',')}`);
  // sync-in needs its target; mmdebstrap creates it only later, in the download step.
  args.push(`--setup-hook=mkdir -p "$1"${APT_CACHE_DIRS.map((d) => ` "$1"${d.inRoot}`).join('')}`);
  if (keys?.files.length) {
    // The bootstrap's apt trusts the host's keys plus the repo's; the root keeps the repo's.
    args.push(`--keyring=${keys.keyringDir}`);
    args.push(`--setup-hook=mkdir -p "$1"/etc/apt/trusted.gpg.d`);
    args.push(
      `--setup-hook=copy-in ${keys.files.map((f) => quoteWord(f)).join(' ')} /etc/apt/trusted.gpg.d/`,
    );
  }
  for (const dir of APT_CACHE_DIRS) {
    const outside = quoteWord(join(pkgCacheDir, dir.inCache));
    args.push(`--setup-hook=sync-in ${outside} ${dir.inRoot}/`);
    args.push(`--customize-hook=sync-out ${dir.inRoot} ${outside}`);
  }
  args.push(spec.release, target, ...sources);
  return args;
}

/**
 * apt.conf for the host's apt-get working on the root: the root's sources, lists, cache and
 * dpkg database, with dpkg itself run chrooted into the root. mmdebstrap works this way too;
 * it means the root needs no apt of its own (the essential variant has none).
 */
export function makeAptConfig(root: string): string {
  if (/["\n\\]/.test(root))
    throw new BuildError(`apt cannot work on a root whose path has quotes or newlines: ${root}`);
  return [
    `Dir "${root}/";`,
    `DPkg::Chroot-Directory "${root}";`,
    'APT::Install-Recommends "false";',
    'APT::Install-Suggests "false";',
    // No fsync per file: a failed build's root is thrown away anyway.
    'DPkg::Options { "--force-confdef"; "--force-confold"; "--force-unsafe-io"; };',
    '',
  ].join('\n');
}

async function runAptGet(ctx: PmContext, args: readonly string[]): Promise<void> {
  const config = join(ctx.tmpDir, 'apt.conf');
  await writeFile(config, makeAptConfig(ctx.rootfs));
  const env = { ...makeAptEnv(ctx.sourceDateEpoch), APT_CONFIG: config };
  await ctx.run('apt-get', args, { env, cleanEnv: true });
}

async function installPackages(ctx: PmContext, packages: readonly string[]): Promise<void> {
  if (!packages.length) return;
  checkPackageArgs(packages);
  await withAptChroot(ctx, async () => {
    await runAptGet(ctx, ['update']);
    await runAptGet(ctx, ['install', '-y', '--no-install-recommends', ...packages]);
  });
}

async function setupRoot(ctx: PmContext, basePackages: readonly string[]): Promise<void> {
  checkPackageArgs(basePackages);
  const sources = await findAptSources(ctx.spec);
  if (sources.origin === 'host') {
    const { release, apt } = ctx.spec;
    sources.files = await aimHostSources(sources.files, release, apt.components, join(ctx.tmpDir, 'sources'));
  }
  ctx.logger.info(`apt sources (${sources.origin}): ${sources.files.join(' ')}`);
  for (const dir of APT_CACHE_DIRS) await mkdir(join(ctx.pkgCacheDir, dir.inCache), { recursive: true });
  // mmdebstrap wants an empty target, and iso-base has already laid out the root and run base.sh.
  const target = join(ctx.tmpDir, 'mmdebstrap-root');
  await rm(target, { recursive: true, force: true });
  try {
    const env: Record<string, string> = {};
    if (ctx.sourceDateEpoch !== undefined) env.SOURCE_DATE_EPOCH = String(ctx.sourceDateEpoch);
    const keys = await prepareKeys(ctx);
    await ctx.run(
      'mmdebstrap',
      mmdebstrapArgs(ctx.spec, basePackages, target, sources.files, ctx.pkgCacheDir, keys),
      {
        env,
      },
    );
    await makeHostNeutral(target);
    await mergeTree(target, ctx.rootfs, { stage: ctx.stage });
  } finally {
    await rm(target, { recursive: true, force: true });
  }
}

/** A repo key's name as apt reads it from trusted.gpg.d: .asc when armoured, else .gpg. */
export function keyFileName(file: string, content: Buffer): string {
  const stem = basename(file).replace(/\.(asc|gpg)$/, '');
  return content.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP')
    ? `${stem}.asc`
    : `${stem}.gpg`;
}

/**
 * The repo's GPG keys (for third-party apt repos), named so apt reads them, in a keyring
 * folder that also holds the host's trusted keys: mmdebstrap's --keyring replaces the default.
 */
async function prepareKeys(ctx: PmContext): Promise<{ keyringDir: string; files: string[] } | undefined> {
  if (!ctx.spec.gpgKeys.length) return undefined;
  const keyringDir = join(ctx.tmpDir, 'apt-keyring');
  await mkdir(keyringDir, { recursive: true });
  for (const name of await readdir(HOST_TRUSTED_PARTS).catch(() => [] as string[])) {
    if (name.endsWith('.gpg') || name.endsWith('.asc'))
      await copyFile(join(HOST_TRUSTED_PARTS, name), join(keyringDir, name));
  }
  const files: string[] = [];
  for (const key of ctx.spec.gpgKeys) {
    const content = await readFile(key);
    const dest = join(keyringDir, keyFileName(key, content));
    await writeFile(dest, content);
    files.push(dest);
  }
  return { keyringDir, files };
}

/**
 * mmdebstrap copies the build host's hostname and resolv.conf in, and leaves its --dpkgopt
 * file behind: the image carries none of them.
 */
async function makeHostNeutral(root: string): Promise<void> {
  await writeFile(join(root, 'etc/hostname'), 'localhost\n', { mode: 0o644 });
  await rm(join(root, 'etc/resolv.conf'), { force: true });
  await rm(join(root, 'etc/dpkg/dpkg.cfg.d/99mmdebstrap'), { force: true });
}

async function cleanRoot(ctx: PmContext): Promise<void> {
  const root = ctx.rootfs;
  const emptyDir = async (path: string, keep: (name: string) => boolean = () => false) => {
    const dir = await resolveInRoot(root, path);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!keep(name)) await rm(join(dir, name), { recursive: true, force: true });
    }
  };
  await emptyDir('/var/cache/apt/archives', (n) => n === 'partial' || n === 'lock');
  await emptyDir('/var/cache/apt/archives/partial');
  await emptyDir('/var/lib/apt/lists', (n) => n === 'partial' || n === 'lock');
  await emptyDir('/var/lib/apt/lists/partial');
  await emptyDir('/var/cache/apt', (n) => n === 'archives');
  await emptyDir('/var/log/apt');
  for (const file of [
    '/var/log/dpkg.log',
    '/var/log/alternatives.log',
    '/var/log/bootstrap.log',
    '/var/cache/ldconfig/aux-cache',
    '/var/cache/debconf/config.dat-old',
    '/var/cache/debconf/templates.dat-old',
    '/var/lib/dpkg/status-old',
    '/var/lib/dpkg/diversions-old',
    '/var/lib/dpkg/statoverride-old',
    '/var/lib/dbus/machine-id',
  ]) {
    await rm(await resolveInRoot(root, file, false), { force: true });
  }
  // A machine-id made at build time would be shared by every VM booted from the image; an empty
  // file tells systemd to make one at boot (what mmdebstrap does for its own run).
  const machineId = await resolveInRoot(root, '/etc/machine-id', false);
  if ((await lstat(machineId).catch(() => undefined))?.isFile()) await writeFile(machineId, '');
}

export const aptPackageManager: PackageManager = {
  name: 'apt',
  packageName: { pattern: PACKAGE_ARG, syntax: 'name[:arch][=version|/suite], lower case' },
  tools: () =>
    [
      { tool: 'mmdebstrap', reason: 'bootstrap the Debian root (apt setup and base packages)' },
      {
        tool: '/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh',
        reason: 'bootstrap a merged-/usr root without usrmerge',
      },
      {
        tool: 'apt-get',
        reason: 'resolve, download and install packages into the root (host apt, chrooted dpkg)',
      },
      { tool: 'chroot', reason: "run the root's maintainer scripts (apt's DPkg::Chroot-Directory)" },
      { tool: 'mount', reason: 'mount /proc in the root while apt-get installs packages' },
    ] satisfies ToolNeed[],
  describe(spec, op, args) {
    const epoch = '${SOURCE_DATE_EPOCH}';
    const install = (verbArgs: string[]) => [
      'mount -t proc proc ROOT/proc',
      'APT_CONFIG=$TMP/apt.conf apt-get update   # apt.conf: Dir "ROOT/"; DPkg::Chroot-Directory "ROOT";',
      `APT_CONFIG=$TMP/apt.conf apt-get ${verbArgs.join(' ')}`,
      'umount ROOT/proc',
    ];
    switch (op) {
      case 'setup': {
        const sources =
          process.env.ISOBUILD_APT_SOURCES ?? spec.apt.sources ?? '/etc/apt/sources.list.d/*.sources';
        return [
          `SOURCE_DATE_EPOCH=${epoch} mmdebstrap ` +
            mmdebstrapArgs(spec, args, '$TMP/root', [sources], 'PKGCACHE')
              // Placeholders stay unquoted so the shell expands them when the line is pasted.
              .map((a) => (/^(\$TMP|\/etc\/apt\/)/.test(a) ? a : quoteWord(a)))
              .join(' '),
          'merge $TMP/root into ROOT',
        ];
      }
      case 'install':
        return args.length ? install(['install', '-y', '--no-install-recommends', ...args]) : [];
      case 'script': {
        const action = parseAptScript(args);
        if (!action) return [];
        return install(
          action.verb === 'install'
            ? ['install', '-y', '--no-install-recommends', ...action.packages]
            : action.verb === 'purge'
              ? ['purge', '-y', ...action.packages]
              : ['autoremove', '--purge', '-y'],
        );
      }
      case 'clean':
        return [
          'rm -rf ROOT/var/cache/apt/archives/*.deb ROOT/var/lib/apt/lists/* ROOT/var/log/apt/* ROOT/var/log/dpkg.log',
        ];
    }
  },
  versions: async () => [await readToolVersion('mmdebstrap'), await readToolVersion('apt-get')],
  setup: setupRoot,
  install: installPackages,
  async runScript(ctx, args) {
    const action = parseAptScript(args);
    if (!action) return;
    if (action.verb === 'install') return installPackages(ctx, action.packages);
    await withAptChroot(ctx, async () => {
      if (action.verb === 'purge') await runAptGet(ctx, ['purge', '-y', ...action.packages]);
      else await runAptGet(ctx, ['autoremove', '--purge', '-y']);
    });
  },
  clean: cleanRoot,
};
