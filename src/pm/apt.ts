import { readDpkgFiles } from '../inventory/dpkg-files.js';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BuildError, CommandError } from '../errors.js';
import { exists } from '../fs/exists.js';
import { linkTree } from '../fs/fs-tree.js';
import { formatBytes } from '../fs/disk-space.js';
import { describeKernelFile, kernelFileTools, type KernelFile } from '../kernel/extract-kernel.js';
import { BINFMT_DIR, type DeclaredTool, type HostFile } from '../exec/host-tools.js';
import { unpackThenMerge } from '../rootfs/merge-tree.js';
import { resolveInRoot } from '../rootfs/root-path.js';
import { moveSshHostKeysToBoot } from '../rootfs/ssh-host-keys.js';
import { APT_CACHE_DIRS, makeAptEnv, withAptChroot } from './apt-chroot.js';
import {
  DPKG_DOCS_CONFIG,
  dpkgDocFilters,
  estimateFilteredBytes,
  dpkgFilterScript,
  renderDpkgDocsConfig,
} from './apt-docs.js';
import { collectAptBundle, restoreAptBundle } from './apt-bundle.js';
import {
  aimedAptSources,
  APT_SOURCES_ENV,
  envSourcesFiles,
  findAptSources,
  findHostSources,
} from './apt-sources.js';
import { checkListsFreshness, digestSources, formatAge, stampLists } from './lists-age.js';
import { DPKG_STATUS, readDpkgStatus } from '../inventory/dpkg-status.js';
import { keepRecordedLast } from '../kernel/record-kernel-deb.js';
import { packageKey, type InstalledPackage } from '../inventory/types.js';
import { sha256, sha256File } from '../fs/hash.js';
import { fetchAptIndex, lookupAptIndex } from './apt-index.js';
import { LOCK_PINS, makeAptPins } from './apt-pins.js';
import { prepareKeys } from './apt-keys.js';
import { aptArchConfig, writeStandaloneAptConfig } from './apt-standalone.js';
import { ARCHES, DEFAULT_ARCH, type Arch } from '../spec/arch.js';
import { aptSpec } from './apt-spec.js';
import type { EarlyKernel, PackageManager, PmContext, PmSpec } from './types.js';
import { cancelSignal } from '../exec/cancel.js';
import { quoteWord } from '../exec/shell-quote.js';

const MERGED_USR_HOOKS = '/usr/share/mmdebstrap/hooks/merged-usr';

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

/**
 * What mmdebstrap needs to bootstrap another architecture on this host: its arch-test check,
 * and the qemu-user handler that runs the target's maintainer scripts.
 */
function crossTools(arch: Arch): DeclaredTool[] {
  // Specs made before arch existed (a cached plan, a test's partial spec) are amd64.
  const handler = ARCHES[arch ?? DEFAULT_ARCH].binfmt;
  if (!handler) return [];
  return [
    { tool: 'arch-test', reason: `mmdebstrap checks the host can run ${arch} programs`, version: 'none' },
    {
      tool: `${BINFMT_DIR}/${handler}` as HostFile,
      reason: `run the ${arch} root's maintainer scripts under qemu-user (binfmt_misc; make deps registers it)`,
      version: 'none',
    },
  ];
}

/** The mmdebstrap arguments for a spec, the package cache and the sources files. */
export function mmdebstrapArgs(
  spec: PmSpec,
  basePackages: readonly string[],
  target: string,
  sources: readonly string[],
  pkgCacheDir: string,
  keys?: { keyringDir: string; files: readonly string[] },
  opts: { docs?: { config: string; script: string }; skipUpdate?: boolean; pins?: string } = {},
): string[] {
  const args = [
    '--mode=root',
    // Another architecture's maintainer scripts run under qemu-user (binfmt_misc; make deps).
    `--architectures=${spec.arch}`,
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
  if (opts.docs) {
    // docs: false. Not as --dpkgopt: mmdebstrap would then pipe each essential package through
    // its Python tar filter on the first extraction, about a second per package on a busy
    // host. The filters go in after that extraction instead (the script removes what they
    // exclude), before dpkg installs the essential set; dpkg follows them from there on.
    args.push(
      `--extract-hook=mkdir -p "$1"${dirname(DPKG_DOCS_CONFIG)} && cp ${quoteWord(opts.docs.config)} "$1"${DPKG_DOCS_CONFIG}`,
      `--extract-hook=sh ${quoteWord(opts.docs.script)} "$1"`,
    );
  }
  // The lists synced in from the package cache are young enough: no mirror is asked for them.
  if (opts.skipUpdate) args.push('--skip=update');
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
  if (opts.pins) {
    // The lock's pins steer the essential set and --include alike, and leave with mmdebstrap.
    args.push(`--setup-hook=mkdir -p "$1"/etc/apt/preferences.d`);
    args.push(`--setup-hook=copy-in ${quoteWord(opts.pins)} /etc/apt/preferences.d/`);
    args.push(`--customize-hook=rm -f "$1"/etc/apt/preferences.d/${basename(opts.pins)}`);
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
export function makeAptConfig(root: string, arch: Arch = DEFAULT_ARCH): string {
  if (/["\n\\]/.test(root))
    throw new BuildError(`apt cannot work on a root whose path has quotes or newlines: ${root}`);
  return (
    [
      `Dir "${root}/";`,
      `DPkg::Chroot-Directory "${root}";`,
      'APT::Install-Recommends "false";',
      'APT::Install-Suggests "false";',
      // No fsync per file: a failed build's root is thrown away anyway.
      'DPkg::Options { "--force-confdef"; "--force-confold"; "--force-unsafe-io"; };',
      '',
    ].join('\n') + aptArchConfig(arch)
  );
}

async function runAptGet(ctx: PmContext, args: readonly string[], extraConfig = ''): Promise<void> {
  const config = join(ctx.tmpDir, 'apt.conf');
  await writeFile(config, makeAptConfig(ctx.rootfs, ctx.spec.arch) + extraConfig);
  const env = { ...makeAptEnv(ctx.sourceDateEpoch), APT_CONFIG: config };
  await ctx.run('apt-get', args, { env, cleanEnv: true });
}

async function installPackages(
  ctx: PmContext,
  packages: readonly string[],
  { measureDocs = true, sharedIndex = false } = {},
): Promise<void> {
  if (!packages.length) return;
  checkPackageArgs(packages);
  // Reading every package's file list costs a second or two: said where it is worth it.
  measureDocs &&= !ctx.spec.docs;
  const before = measureDocs ? await estimateFilteredBytes(ctx.rootfs) : 0;
  await withAptChroot(ctx, async () => {
    const sources = await digestSources(await findRootSources(ctx.rootfs));
    const freshness = await checkListsFreshness(listsStamp(ctx), sources, ctx.listsMaxAge);
    if (freshness.fresh) {
      ctx.logger.info(
        `apt: package lists ${formatAge(freshness.ageSeconds)} old, not refreshed (--refresh to)`,
      );
    } else {
      ctx.logger.info(`apt: refreshing package lists (${freshness.why})`);
      await runAptGet(ctx, ['update']);
      await stampLists(listsStamp(ctx), sources);
    }
    await runAptGet(
      ctx,
      ['install', '-y', '--no-install-recommends', ...packages],
      sharedIndex ? sharedIndexConfig(ctx) : '',
    );
  });
  if (measureDocs) logFilteredBytes(ctx, (await estimateFilteredBytes(ctx.rootfs)) - before);
}

/**
 * apt reads the lists in the package cache where they are, and keeps its parsed index of them
 * (srcpkgcache.bin) there too: apt checks it against the lists' sizes and times, so only the
 * first install after an update parses the lists, seconds of a grown root's build. Not in the
 * root, which the clean step would empty of it anyway.
 */
function sharedIndexConfig(ctx: PmContext): string {
  const lists = join(ctx.pkgCacheDir, APT_CACHE_DIRS[1].inCache);
  return [
    `Dir::State::Lists "${lists}/";`,
    `Dir::Cache::srcpkgcache "${join(ctx.pkgCacheDir, 'apt', 'srcpkgcache.bin')}";`,
    'Dir::Cache::pkgcache "";',
    '',
  ].join('\n');
}

/**
 * The package lists a root is built from, named by their Release files (each holds the digests
 * of the index files apt checked against it): the sha256 of their names and contents in the
 * package cache, or undefined when it has none.
 */
async function listsDigest(ctx: PmContext): Promise<string | undefined> {
  const dir = join(ctx.pkgCacheDir, APT_CACHE_DIRS[1].inCache);
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => /_(In)?Release$/.test(n))
    .sort();
  if (!names.length) return undefined;
  const hash = sha256();
  for (const name of names)
    hash
      .update(`${name}\0`)
      .update(await readFile(join(dir, name)))
      .update('\0');
  return hash.digest('hex');
}

/**
 * Incremental roots: the packages installed by apt-get into a root setup made, leaving it as
 * setup with them in its --include would have (once clean ran): dpkg's status file, which
 * dpkg rewrites sorted, gets the recorded kernel entries back at its end. Why it cannot, or undefined.
 */
async function addToRoot(ctx: PmContext, packages: readonly string[]): Promise<string | undefined> {
  const status = await resolveInRoot(ctx.rootfs, DPKG_STATUS, false);
  const before = await readFile(status, 'utf8').catch(() => undefined);
  if (before === undefined) return 'the root has no dpkg status file';
  // apt hands its download folders to its _apt user when it fetches a package; mmdebstrap's
  // setup leaves them root's: they keep the owner and mode they had.
  const partials = await Promise.all(
    APT_CACHE_DIRS.map(async (d) => {
      const path = await resolveInRoot(ctx.rootfs, `${d.inRoot}/partial`, false);
      return { path, st: await lstat(path).catch(() => undefined) };
    }),
  );
  // The time saved is the point of growing a root: the docs estimate is left to cold builds.
  await installPackages(ctx, packages, { measureDocs: false, sharedIndex: true });
  for (const { path, st } of partials) {
    if (!st) continue;
    await chown(path, st.uid, st.gid);
    await chmod(path, st.mode & 0o7777);
  }
  return keepRecordedLast(ctx.rootfs, before, ctx.sourceDateEpoch);
}

/** Beside the lists in the package cache: when they were fetched and from which sources. */
function listsStamp(ctx: PmContext): string {
  return join(ctx.pkgCacheDir, 'apt', 'lists.stamp.json');
}

/** The sources files mmdebstrap pasted into the root. */
async function findRootSources(root: string): Promise<string[]> {
  return findHostSources(await resolveInRoot(root, '/etc/apt'));
}

function logFilteredBytes(ctx: PmContext, bytes: number): void {
  ctx.logger.info(
    `docs: false: dpkg left out about ${formatBytes(Math.max(0, bytes))} (doc, man, info, locales` +
      `${ctx.spec.locales.length ? ` but ${ctx.spec.locales.join(' ')}` : ''})`,
  );
}

async function setupRoot(ctx: PmContext, basePackages: readonly string[]): Promise<void> {
  checkPackageArgs(basePackages);
  const sources = await aimedAptSources(ctx.spec, join(ctx.tmpDir, 'sources'));
  ctx.logger.info(`apt sources (${sources.origin}): ${sources.files.join(' ')}`);
  for (const dir of APT_CACHE_DIRS) await mkdir(join(ctx.pkgCacheDir, dir.inCache), { recursive: true });
  const env: Record<string, string> = {};
  if (ctx.sourceDateEpoch !== undefined) env.SOURCE_DATE_EPOCH = String(ctx.sourceDateEpoch);
  const keys = await prepareKeys(ctx.spec.gpgKeys, join(ctx.tmpDir, 'apt-keyring'));
  const dpkgFilters = dpkgDocFilters(ctx.spec);
  let docs: { config: string; script: string } | undefined;
  if (dpkgFilters.length) {
    docs = {
      config: join(ctx.tmpDir, basename(DPKG_DOCS_CONFIG)),
      script: join(ctx.tmpDir, 'docs-filter.sh'),
    };
    await writeFile(docs.config, renderDpkgDocsConfig(dpkgFilters), { mode: 0o644 });
    await writeFile(docs.script, dpkgFilterScript(dpkgFilters));
  }
  let pins: string | undefined;
  if (ctx.lock) {
    pins = join(ctx.tmpDir, LOCK_PINS);
    await writeFile(pins, makeAptPins(ctx.lock));
  }
  const digest = await digestSources(sources.files);
  const freshness = await checkListsFreshness(listsStamp(ctx), digest, ctx.listsMaxAge);
  const bootstrap = async (target: string, skipUpdate: boolean) => {
    await rm(target, { recursive: true, force: true });
    const args = mmdebstrapArgs(ctx.spec, basePackages, target, sources.files, ctx.pkgCacheDir, keys, {
      docs,
      skipUpdate,
      pins,
    });
    await ctx.run('mmdebstrap', args, { env });
  };
  // mmdebstrap wants an empty target, and iso-base has already laid out the root and run base.sh.
  const makeRoot = async (target: string) => {
    if (freshness.fresh) {
      ctx.logger.info(
        `apt: package lists ${formatAge(freshness.ageSeconds)} old, not refreshed (--refresh to)`,
      );
      try {
        await bootstrap(target, true);
      } catch (err) {
        // The mirror may have dropped a version the old lists name: fetch them again, once.
        if (!retriesOnFreshLists(err)) throw err;
        ctx.logger.warn('apt: mmdebstrap failed on the cached package lists; retrying with fresh ones');
        await bootstrap(target, false);
        await stampLists(listsStamp(ctx), digest);
      }
    } else {
      ctx.logger.info(`apt: refreshing package lists (${freshness.why})`);
      await bootstrap(target, false);
      await stampLists(listsStamp(ctx), digest);
    }
    await makeHostNeutral(target);
    if (dpkgFilters.length) {
      logFilteredBytes(ctx, await estimateFilteredBytes(target));
    }
  };
  await unpackThenMerge(ctx.tmpDir, ctx.rootfs, makeRoot, { stage: ctx.stage });
}

/** Set to 1 for a build that has no network by design (build --from-bundle runs it so). */
export const OFFLINE_ENV = 'ISOBUILD_OFFLINE';

/**
 * Whether mmdebstrap's failure on the cached lists is worth one run with fresh ones: a command
 * that failed by itself, not one stopped by Ctrl-C or killed by a signal (the retry would
 * only warn falsely about the lists, then be stopped too). The cancel check comes first: the
 * interruption may be seen here before the runner has turned it into an InterruptedError.
 */
export function retriesOnFreshLists(
  err: unknown,
  cancelled = cancelSignal().aborted,
  offline = process.env[OFFLINE_ENV] === '1',
): boolean {
  // With no network (build --from-bundle) fresh lists cannot come, and the retry's "Temporary
  // failure resolving" would hide why mmdebstrap failed on the bundled lists.
  if (cancelled || offline || !(err instanceof CommandError)) return false;
  const killedBy = (err.cause as { signal?: string } | undefined)?.signal;
  return !killedBy && err.details.exitCode !== 130;
}

/**
 * kernel_install: files. The kernel package's own .deb, fetched through apt with the lists the
 * bootstrap left in the package cache (no update, no dependency resolution): a metapackage
 * such as linux-image-cloud-amd64 is followed to the linux-image-* package it depends on. The
 * file stays in the package cache, so a second build downloads nothing.
 */
async function downloadKernel(ctx: PmContext, name: string): Promise<KernelFile[]> {
  const config = join(ctx.tmpDir, 'apt-download.conf');
  await writeFile(
    config,
    makeAptDownloadConfig(ctx.rootfs, join(ctx.pkgCacheDir, APT_CACHE_DIRS[1].inCache), ctx.spec.arch),
  );
  return fetchKernelDeb(ctx, name, config);
}

/**
 * downloadKernel beside mmdebstrap, when the package lists in the package cache are young
 * enough for the bootstrap to skip its update (the same decision setupRoot makes): apt then
 * reads no root, only the sources and keys the bootstrap gets and those lists. Stale lists:
 * undefined, the lists come from the bootstrap's own update and downloadKernel runs after it.
 */
async function downloadKernelBesideSetup(ctx: PmContext, name: string): Promise<EarlyKernel | undefined> {
  const work = join(ctx.tmpDir, 'kernel-apt');
  const sources = await aimedAptSources(ctx.spec, join(work, 'aimed'));
  const digest = await digestSources(sources.files);
  const stamp = await readFile(listsStamp(ctx), 'utf8').catch(() => '');
  const freshness = await checkListsFreshness(listsStamp(ctx), digest, ctx.listsMaxAge);
  if (!freshness.fresh) {
    ctx.logger.info(
      `apt: kernel fetched after mmdebstrap, with the lists its update brings (${freshness.why})`,
    );
    return undefined;
  }
  ctx.logger.info(
    `apt: kernel fetched beside mmdebstrap, with the cached package lists (${formatAge(freshness.ageSeconds)} old)`,
  );
  // Folders of its own: apt-get download creates a `lock` file in the lists folder its
  // configuration names (seen: a lists folder without one gets it), and mmdebstrap's sync-in may
  // be copying the package cache's lists at that moment; the folder changing under tar fails the
  // bootstrap, which fresh lists only hid, and which a rebuild from a bundle (lists primed
  // without a lock, no network) cannot survive.
  const lists = join(work, 'lists');
  const archives = join(work, 'archives');
  await linkTree(join(ctx.pkgCacheDir, APT_CACHE_DIRS[1].inCache), lists);
  await mkdir(archives);
  const config = await writeStandaloneAptConfig(work, {
    sources: sources.files,
    gpgKeys: ctx.spec.gpgKeys,
    lists,
    archives,
    arch: ctx.spec.arch,
  });
  const files = await fetchKernelDeb(ctx, name, config);
  return {
    files,
    // The bootstrap retries with fresh lists when the cached ones fail it: the kernel they name may differ.
    outdated: async () =>
      (await readFile(listsStamp(ctx), 'utf8').catch(() => '')) === stamp
        ? undefined
        : 'the bootstrap refreshed the package lists',
  };
}

/**
 * Follow `name` to its kernel package and download it, and the metapackages on the way, into
 * the package cache's archives: iso-base records them all in the root's dpkg database, so a
 * later `apt-get install linux-image-cloud-amd64` finds it installed too. apt-get download
 * works in a folder of its own beside them and the files are renamed in: the bootstrap's
 * sync-in may copy the archives while a download runs, and must never see half a file (its
 * sync-out would copy that back over the whole one). A file already there whose SHA256 is the
 * lists' is left alone: hard-linking it to the download folder or renaming over it changes its
 * ctime, and tar in that sync-in then fails with "file changed as we read it" (seen in CI).
 */
async function fetchKernelDeb(ctx: PmContext, name: string, config: string): Promise<KernelFile[]> {
  checkPackageArgs([name]);
  const archives = join(ctx.pkgCacheDir, APT_CACHE_DIRS[0].inCache);
  await mkdir(archives, { recursive: true });
  const env = { ...makeAptEnv(ctx.sourceDateEpoch), APT_CONFIG: config };
  const chain: { pkg: string; pool: string; sha256?: string }[] = [];
  for (let pkg: string | undefined = name; pkg && !chain.some((c) => c.pkg === pkg); ) {
    const control = (await ctx.run('apt-cache', ['show', '--no-all-versions', pkg], { env, cleanEnv: true }))
      .stdout;
    const pool = /^Filename: (\S+\.deb)$/m.exec(control)?.[1];
    if (!pool) throw new BuildError(`apt-cache show ${pkg}: no Filename field`, ctx.stage);
    chain.push({ pkg, pool, sha256: /^SHA256: ([0-9a-f]{64})$/m.exec(control)?.[1] });
    pkg = kernelDependency(control);
  }
  const staging = await mkdtemp(join(dirname(archives), 'kernel-download-'));
  try {
    const files: KernelFile[] = [];
    for (const { pkg, pool, sha256 } of chain) {
      const file = join(archives, basename(pool));
      const staged = join(staging, basename(pool));
      if (sha256 && (await exists(file)) && (await sha256File(file)) === sha256) {
        files.push({ path: file, format: 'deb' });
        continue;
      }
      await ctx.run('apt-get', ['download', pkg], { env, cleanEnv: true, cwd: staging });
      if (!(await exists(staged)))
        throw new BuildError(`apt-get download ${pkg}: no ${basename(pool)} in ${staging}`, ctx.stage);
      await rename(staged, file);
      files.push({ path: file, format: 'deb' });
    }
    return files;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The linux-image-* package a kernel metapackage's Depends names, if it has one. */
export function kernelDependency(control: string): string | undefined {
  const depends = /^Depends: (.*)$/m.exec(control)?.[1] ?? '';
  for (const clause of depends.split(',')) {
    const first = clause
      .trim()
      .split(/\s*\|\s*/)[0]
      ?.split(/[\s(:]/)[0];
    if (first?.startsWith('linux-image-')) return first;
  }
  return undefined;
}

/** apt.conf for downloading only: the root's sources and status, the package cache's lists. */
export function makeAptDownloadConfig(root: string, lists: string, arch: Arch = DEFAULT_ARCH): string {
  if (/["\n\\]/.test(lists))
    throw new BuildError(`apt cannot use a package cache whose path has quotes or newlines: ${lists}`);
  return (
    makeAptConfig(root, arch) +
    [`Dir::State::Lists "${lists}/";`, 'Dir::Cache::pkgcache "";', 'Dir::Cache::srcpkgcache "";', ''].join(
      '\n',
    )
  );
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
  // openssh-server's postinst makes host keys at install time: the same reasoning, and they
  // differ between two builds.
  const ssh = await moveSshHostKeysToBoot(root, ctx.sourceDateEpoch ?? 0);
  if (ssh.removed.length) ctx.logger.info(`removed ${ssh.removed.length} SSH host key files (made at boot)`);
  if (ssh.unit) ctx.logger.info(`${ssh.unit}: runs ssh-keygen -A at boot before ssh.service`);
  if (ssh.noSystemd)
    ctx.logger.warn('the root has sshd but no systemd: its init must run ssh-keygen -A before sshd starts');
}

/**
 * dpkg's status file of the root, with each package's digest and origin from the apt lists the
 * package cache keeps (the lists of the build's own apt-get update), else the cached .deb.
 */
async function listInstalled(ctx: PmContext): Promise<InstalledPackage[] | undefined> {
  const installed = await readDpkgStatus(ctx.rootfs);
  if (!installed) return undefined;
  const index = await lookupAptIndex(
    join(ctx.pkgCacheDir, APT_CACHE_DIRS[1].inCache),
    installed.map(packageKey),
    join(ctx.pkgCacheDir, 'apt', 'lists-lookups.json'),
  );
  const archives = join(ctx.pkgCacheDir, APT_CACHE_DIRS[0].inCache);
  return Promise.all(
    installed.map(async (p) => {
      const known = index.get(packageKey(p));
      if (known) return { ...p, sha256: known.sha256, origin: known.origin };
      const deb = join(archives, `${p.name}_${p.version.replace(':', '%3a')}_${p.arch}.deb`);
      const digest = await sha256File(deb).catch(() => undefined);
      return digest ? { ...p, sha256: digest } : p;
    }),
  );
}

/** What apt runs on a root that exists (setup's, or an image's with a dpkg database). */
export const APT_ROOT_COMMANDS: readonly DeclaredTool[] = [
  {
    tool: 'apt-get',
    reason: 'resolve, download and install packages into the root (host apt, chrooted dpkg)',
    version: ['--version'],
  },
  // apt-get's version stands for the whole of apt.
  { tool: 'apt-cache', reason: 'find the kernel package a metapackage names', version: 'none' },
  {
    tool: 'chroot',
    reason: "run the root's maintainer scripts (apt's DPkg::Chroot-Directory)",
    version: 'none',
  },
  { tool: 'mount', reason: 'mount /proc in the root while apt-get installs packages', version: 'none' },
  { tool: 'umount', reason: 'unmount /proc from the root after apt-get', version: 'none' },
];

export const aptPackageManager: PackageManager = {
  name: 'apt',
  ...aptSpec,
  mirrorFrom: `apt sources: ${APT_SOURCES_ENV}`,
  specFields: ['apt', 'kernel', 'kernelInstall'],
  // 2: docs filters as extract hooks; SSH host keys removed and made at first boot.
  version: 2,
  purlType: 'deb',
  packageName: { pattern: PACKAGE_ARG, syntax: 'name[:arch][=version|/suite], lower case' },
  tools: (spec) => [
    ...(spec.kernelInstall === 'files' && spec.kernel.kind === 'package' ? kernelFileTools('deb') : []),
    {
      tool: 'mmdebstrap',
      reason: 'bootstrap the Debian root (apt setup and base packages)',
      version: ['--version'],
    },
    {
      tool: '/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh',
      reason: 'bootstrap a merged-/usr root without usrmerge',
      version: 'none',
    },
    ...APT_ROOT_COMMANDS,
    ...crossTools(spec.arch),
  ],
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
        const fromEnv = envSourcesFiles(process.env[APT_SOURCES_ENV]);
        const sources = fromEnv.length ? fromEnv : [spec.apt.sources ?? '/etc/apt/sources.list.d/*.sources'];
        return [
          `SOURCE_DATE_EPOCH=${epoch} mmdebstrap ` +
            mmdebstrapArgs(spec, args, '$TMP/root', sources, 'PKGCACHE')
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
      case 'download-kernel':
        return [
          '# with young cached package lists these run beside mmdebstrap, from no root: APT_CONFIG=$TMP/kernel-apt/apt.conf',
          "#   (the bootstrap's sources and keys, PKGCACHE/apt/lists, an empty dpkg status); else after it, on ROOT",
          `apt-cache show --no-all-versions ${args.join(' ')}   # a metapackage: follow Depends to linux-image-*`,
          '# KERNEL_PACKAGE: the linux-image-* package and the metapackages that led to it, each:',
          'cd PKGCACHE/apt/kernel-download-XXXXXX && apt-get download KERNEL_PACKAGE && mv KERNEL_PACKAGE.deb PKGCACHE/apt/archives/',
          ...describeKernelFile({ path: 'PKGCACHE/apt/archives/KERNEL_PACKAGE.deb', format: 'deb' }).map(
            (line) => (line.startsWith('merge') ? `${line}   # after mmdebstrap` : line),
          ),
        ];
      case 'clean':
        return [
          'rm -rf ROOT/var/cache/apt/archives/*.deb ROOT/var/lib/apt/lists/* ROOT/var/log/apt/* ROOT/var/log/dpkg.log',
          ': > ROOT/etc/machine-id; rm -f ROOT/etc/ssh/ssh_host_*_key ROOT/etc/ssh/ssh_host_*_key.pub',
          '# with sshd and systemd in the root: ROOT/etc/systemd/system/isobuild-ssh-host-keys.service runs ssh-keygen -A at boot',
        ];
    }
  },
  async sources(spec) {
    // An unusable host configuration fails at setup with a clear message; the key just notes its absence.
    const sources = await findAptSources(spec).then(
      (s) => s.files,
      () => [],
    );
    return {
      files: [...sources, ...spec.gpgKeys],
      facts: { [APT_SOURCES_ENV]: process.env[APT_SOURCES_ENV] ?? null },
    };
  },
  checkScript(args) {
    try {
      parseAptScript(args);
      return undefined;
    } catch (err) {
      return (err as Error).message.replace(/^packages_script_staging: /, '');
    }
  },
  setup: setupRoot,
  install: installPackages,
  downloadKernel,
  fetchesSinglePackages: true,
  signedBootChain: true,
  buildsForeignArch: true,
  downloadKernelBesideSetup,
  listsDigest,
  addToRoot,
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
  listInstalled,
  listPackageFiles: (ctx) => readDpkgFiles(ctx.rootfs),
  querySources: fetchAptIndex,
  bundle: { collect: collectAptBundle, restore: restoreAptBundle },
};
