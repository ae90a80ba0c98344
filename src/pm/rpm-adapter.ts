import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BuildError, CommandError } from '../errors.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import type { RunResult } from '../exec/run.js';
import {
  lockedArgs,
  listRpmInstalled,
  listRpmFiles,
  parseRepoquery,
  REPOQUERY_FORMAT,
} from './rpm-inventory.js';
import { renderRpmConfig, rootCacheDir, rootConfigPath, type RpmTool } from './rpm-config.js';
import { describeRpmDb, dropEmptyWal, importGpgKeys, initRpmDb, matchRootRpmBackend } from './rpm-db.js';
import { reportFallback, selectRpmFrontend, type RpmFrontend } from './rpm-frontend.js';
import { checkRepoKeys } from './rpm-repo-files.js';
import { planMirror, shippedRepoHint } from './rpm-mirror.js';
import { rpmCacheDir } from './rpm-cache-dir.js';
import { collectRpmBundle, restoreRpmBundle } from './rpm-bundle.js';
import { bundledRpmRepos } from './rpm-bundle-repos.js';
import { rpmSpec } from './rpm-spec.js';
import { openRpmSession, type CacheChoice } from './rpm-session.js';
import type { PackageManager, PmContext, PmSpec } from './types.js';
import { quoteCommand, quoteWord } from '../exec/shell-quote.js';

/**
 * One implementation behind the dnf, yum and tdnf adapters (VIC's setup_pm and
 * package_cached): they differ only in the program that runs and its config dialect.
 */

/** RPM package arguments: names, name-version, globs, provides (`perl(Foo)`, `/usr/bin/x`); never an option. */
export const RPM_PACKAGE_ARG = /^[A-Za-z0-9_/][A-Za-z0-9._+:~^/*-]*(\([A-Za-z0-9._+:/-]+\))?$/;

/** Package names become arguments: one that starts with '-' would be read as an option. */
function checkPackageNames(names: readonly string[], stage: string): void {
  const bad = names.filter((n) => n.startsWith('-') || /\s/.test(n) || n === '');
  if (bad.length)
    throw new BuildError(`invalid package name(s): ${bad.map((n) => JSON.stringify(n)).join(', ')}`, stage);
}

/** The subcommands a staging script may run: ones that change which packages the root has. */
const SCRIPT_VERBS = [
  'install',
  'erase',
  'remove',
  'reinstall',
  'upgrade',
  'update',
  'downgrade',
  'autoremove',
];

/** packages_script_staging in VIC's words (`erase toybox`): a known subcommand, then package names. */
export function checkRpmScript(args: readonly string[]): string | undefined {
  const words = args.filter((a) => a !== '-y' && a !== '--assumeyes');
  if (!words.length) return undefined;
  const [verb, ...names] = words as [string, ...string[]];
  if (!SCRIPT_VERBS.includes(verb))
    return `'${verb}' is not a subcommand a staging script may run (${SCRIPT_VERBS.join(', ')})`;
  const bad = names.filter((n) => !RPM_PACKAGE_ARG.test(n));
  if (bad.length)
    return `not package names: ${bad.map((n) => JSON.stringify(n)).join(', ')} (options are not allowed)`;
  if (!names.length && verb !== 'autoremove' && verb !== 'upgrade' && verb !== 'update')
    return `'${verb}' needs at least one package name`;
  return undefined;
}

async function runFrontend(
  ctx: PmContext,
  frontend: RpmFrontend,
  command: readonly string[],
  cache: CacheChoice = 'persistent',
): Promise<RunResult> {
  reportFallback(ctx.logger, frontend);
  const mirror = ctx.mirror ? await planMirror(ctx.spec.repoFiles, ctx.mirror) : undefined;
  const session = await openRpmSession({
    spec: ctx.spec,
    rootfs: ctx.rootfs,
    pkgCacheDir: await rpmCacheDir(ctx),
    tmpDir: ctx.tmpDir,
    frontend,
    cache,
    sourceDateEpoch: ctx.sourceDateEpoch,
    listsMaxAge: ctx.listsMaxAge,
    mirror,
    bundle: bundledRpmRepos(),
  });
  try {
    return await ctx.run(frontend.path, [...session.args, ...command], {
      stage: ctx.stage,
      env: session.env,
    });
  } catch (err) {
    const hint =
      err instanceof CommandError && !mirror && shippedRepoHint(ctx.spec.repoDir, err.details.outputTail);
    throw hint ? (err as CommandError).withHint(hint) : err;
  } finally {
    await rm(session.dir, { recursive: true, force: true });
  }
}

/**
 * The root's own copy of the configuration, with paths inside the root, and the repo
 * files in /etc/yum.repos.d: VIC leaves both in the image for later use.
 */
async function writeRootConfig(ctx: PmContext, adapter: RpmTool): Promise<void> {
  const repoDir = join(ctx.rootfs, 'etc/yum.repos.d');
  await mkdir(repoDir, { recursive: true });
  for (const f of ctx.spec.repoFiles) await copyFile(f, join(repoDir, basename(f)));
  const config = join(ctx.rootfs, rootConfigPath(adapter));
  await mkdir(dirname(config), { recursive: true });
  await writeFile(
    config,
    renderRpmConfig(adapter, {
      reposDir: '/etc/yum.repos.d',
      cacheDir: rootCacheDir(adapter),
      logDir: '/var/log',
    }),
  );
}

/** Removes everything below a folder, keeping the folder. */
async function emptyDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(entries.map((e) => rm(join(dir, e), { recursive: true, force: true })));
}

/** Log files the front ends write into the root when their logdir is the default. */
const ROOT_LOGS = /^(dnf(\..*)?\.log|hawkey\.log|yum\.log|tdnf\.log)$/;

async function removeRootLogs(rootfs: string): Promise<void> {
  const logDir = join(rootfs, 'var/log');
  let entries: string[];
  try {
    entries = await readdir(logDir);
  } catch {
    return;
  }
  await Promise.all(
    entries.filter((e) => ROOT_LOGS.test(e)).map((e) => rm(join(logDir, e), { force: true })),
  );
}

function describeFrontend(spec: PmSpec, frontend: RpmFrontend, command: readonly string[]): string {
  const { tool } = frontend;
  const args = [
    tool,
    '-c',
    `$TMPDIR/${tool}.conf`,
    '--installroot=$ROOTFS',
    `--releasever=${spec.release}`,
    '--setopt=reposdir=$TMPDIR/yum.repos.d',
    ...(tool === 'tdnf' ? ['--setopt=cachedir=$PKGCACHE'] : ['--noplugins']),
    '--assumeyes',
    ...command,
  ];
  return quoteCommand(args, { keepVariables: true });
}

export function makeRpmPackageManager(adapter: RpmTool): PackageManager {
  const frontendFor = () => selectRpmFrontend(adapter);

  return {
    name: adapter,
    ...rpmSpec,
    specFields: [],
    version: 1,
    packageName: {
      pattern: RPM_PACKAGE_ARG,
      syntax: 'name[-version], a provide like pkgconfig(x), or a /path',
    },
    purlType: 'rpm',

    tools(): DeclaredTool[] {
      const frontend = frontendFor();
      return [
        { tool: 'rpm', reason: 'create the root’s rpm database and import GPG keys', version: ['--version'] },
        {
          // Its path: a yum that is dnf in disguise runs under its own name.
          tool: frontend.path.startsWith('/') ? (basename(frontend.path) as RpmTool) : frontend.tool,
          reason: frontend.fallback
            ? `install RPM packages (standing in for ${adapter})`
            : 'install RPM packages into the root',
          version: ['--version'],
        },
        {
          tool: 'bwrap',
          reason: "rebuild the rpm database with the root's own rpmdb when its backend differs",
          version: 'none',
        },
      ];
    },

    describe(spec, op, args) {
      const frontend = frontendFor();
      // Said once, where the package manager is set up, as the build log does.
      const note = frontend.fallback ? [`# ${frontend.fallback}`] : [];
      switch (op) {
        case 'setup':
          return [
            ...note,
            ...describeRpmDb(spec.gpgKeys.map((k) => quoteWord(k))),
            ...(args.length ? [describeFrontend(spec, frontend, ['install', ...args])] : []),
          ];
        // No downloadKernel here yet: iso-base installs the kernel package (kernel_install: package).
        case 'download-kernel':
        case 'install':
          return args.length ? [describeFrontend(spec, frontend, ['install', ...args])] : [];
        case 'script':
          return args.length ? [describeFrontend(spec, frontend, args)] : [];
        case 'clean':
          return [
            describeFrontend(spec, frontend, ['clean', 'all']).replace(
              '$PKGCACHE',
              `$ROOTFS${rootCacheDir(frontend.tool)}`,
            ),
            'rm -rf $ROOTFS/var/cache/*',
          ];
      }
    },

    async sources(spec) {
      return { files: [...spec.repoFiles, ...spec.gpgKeys] };
    },

    async setup(ctx, basePackages) {
      checkPackageNames(basePackages, ctx.stage);
      await checkRepoKeys(ctx.spec, ctx.stage);
      const frontend = frontendFor();
      reportFallback(ctx.logger, frontend);
      if (ctx.mirror) {
        const m = await planMirror(ctx.spec.repoFiles, ctx.mirror);
        ctx.logger.info(
          `${adapter}: --mirror: fetching from ${m.to} what the .repo files put under ${m.from}`,
        );
      }
      await mkdir(ctx.rootfs, { recursive: true });
      await initRpmDb(ctx);
      await importGpgKeys(ctx, ctx.spec.gpgKeys);
      await writeRootConfig(ctx, adapter);
      if (basePackages.length)
        await runFrontend(ctx, frontend, ['install', ...lockedArgs(basePackages, ctx.lock)]);
    },

    async install(ctx, packages) {
      if (!packages.length) return;
      checkPackageNames(packages, ctx.stage);
      await checkRepoKeys(ctx.spec, ctx.stage);
      await runFrontend(ctx, frontendFor(), ['install', ...lockedArgs(packages, ctx.lock)]);
    },

    checkScript: checkRpmScript,

    async checkMirror(spec, mirror) {
      await planMirror(spec.repoFiles, mirror);
    },

    async runScript(ctx, args) {
      if (!args.length) return;
      await runFrontend(ctx, frontendFor(), args);
    },

    async clean(ctx) {
      // Against the root's own cache, never the persistent one: that one outlives the root.
      await runFrontend(ctx, frontendFor(), ['clean', 'all'], 'root');
      await emptyDir(join(ctx.rootfs, 'var/cache'));
      await removeRootLogs(ctx.rootfs);
      await dropEmptyWal(ctx.rootfs);
      await matchRootRpmBackend(ctx);
    },

    bundle: { collect: collectRpmBundle, restore: restoreRpmBundle },

    listInstalled: listRpmInstalled,
    listPackageFiles: listRpmFiles,

    async querySources(ctx) {
      // An empty scratch root: repoquery needs an installroot, and the build's must stay untouched.
      const scratch = join(ctx.tmpDir, 'repoquery-root');
      await mkdir(scratch, { recursive: true });
      const res = await runFrontend({ ...ctx, rootfs: scratch }, frontendFor(), [
        'repoquery',
        '--quiet',
        '--showduplicates',
        '--queryformat',
        `${REPOQUERY_FORMAT}\n`,
      ]);
      return parseRepoquery(res.stdout);
    },
  };
}
