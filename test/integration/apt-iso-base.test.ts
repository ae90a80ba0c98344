import { existsSync } from 'node:fs';
import { copyFile, lstat, mkdir, readFile, readdir, readlink, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { CommandError } from '../../src/errors.js';
import { run } from '../../src/exec/run.js';
import { treeMentions } from '../../src/fs/link-duplicates.js';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import type { BuildPlan, StageMeta, StageName } from '../../src/stage/types.js';
import type { ResolvedSpec } from '../../src/spec/types.js';
import { cacheLayout } from '../../src/cache/cache.js';
import { makePlan } from '../../src/pipeline/plan.js';
import { runPipeline } from '../../src/pipeline/run-pipeline.js';
import { isoBaseStage } from '../../src/stages/iso-base.js';
import { stagingStage } from '../../src/stages/staging.js';
import { runStageWith, type TestStageContext } from '../helpers/stage-context.js';
import { targetPlanFields } from '../../src/stage/targets.js';
import { buildDockerfile } from '../../src/oci/dockerfile.js';
import { parseImageRef } from '../../src/oci/image-ref.js';
import { exportOciImage } from '../../src/oci/write-image.js';

// Real mmdebstrap and apt-get against the host's apt sources: a debian-12 root through
// iso-base and staging (bootstrap flavour), then iso-base again from cold with the same
// package cache, which must download nothing. The StageContext is made by hand here, as the
// pipeline runner would make it.

let tmp: DirectoryResult;
let repoDir: string;
let pkgCacheDir: string;
let spec: ResolvedSpec;
let base: { rootfs: string; bootfs: string; meta: StageMeta; output: string[] };
let staged: { rootfs: string; bootfs: string; meta: StageMeta; output: string[] };

const BASE_PACKAGES = ['busybox', 'kmod'];
// apt: the Dockerfile FROM the exported root runs it.
const BOOTSTRAP_PACKAGES = ['less', 'apt'];
const KERNEL = 'linux-image-cloud-amd64';

function makeSpec(repo: string, hooks: ResolvedSpec['hooks']): ResolvedSpec {
  return {
    name: 'debian-12',
    repoDir: repo,
    specFile: join(repo, 'repo-spec.json'),
    packagemanager: 'apt',
    arch: 'amd64',
    kernel: { kind: 'package', name: KERNEL },
    init: '/bin/init',
    release: 'bookworm',
    packages: { base: BASE_PACKAGES, bootstrap: BOOTSTRAP_PACKAGES, appliance: [] },
    stagingScript: { bootstrap: [], appliance: [] },
    repoFiles: [],
    gpgKeys: [],
    apt: { variant: 'essential', components: ['main'] },
    hooks,
    drivers: { common: true, repo: [], spec: [] },
    modules: 'all',
    kernelInstall: 'files',
    bootstrapInitrd: 'small',
    docs: false,
    locales: ['de'],
    unowned: 'list',
    packageListsMaxAge: 86400,
    compression: 'gzip',
    boot: { bios: true, uefi: true },
    uki: false,
    cmdline: '',
    microvm: { vcpus: 1, memory: 256, cmdline: '' },
    tests: [],
    budget: {},
    profile: 'isobuild',
    raw: {} as ResolvedSpec['raw'],
  };
}

function capturingLogger(lines: string[]): Logger {
  return {
    ...silentLogger,
    output: (chunk) => lines.push(chunk),
    info: (m) => lines.push(`[info] ${new Date().toISOString()} ${m}`),
    warn: (m) => lines.push(`[warn] ${m}`),
  };
}

async function stageContext(
  name: StageName,
  work: string,
  theSpec: ResolvedSpec,
  meta: StageMeta,
  output: string[],
): Promise<TestStageContext> {
  const rootfs = join(work, 'rootfs');
  const bootfs = join(work, 'bootfs');
  const artifacts = join(work, 'artifacts');
  const tmp = join(work, 'tmp');
  for (const d of [artifacts, tmp]) await mkdir(d, { recursive: true });
  const logger = capturingLogger(output);
  const plan: BuildPlan = {
    spec: theSpec,
    ...targetPlanFields('bootstrap-staging'),
    stages: [isoBaseStage, stagingStage],
    options: {
      cacheRoot: join(work, 'cache'),
      outputDir: join(work, 'bin'),
      noCache: false,
      lockTimeout: 0,
      sourceDateEpoch: 1700000000,
    },
  };
  return {
    plan,
    spec: theSpec,
    stage: name,
    rootfs,
    bootfs,
    artifacts,
    tmpDir: tmp,
    pkgCacheDir,
    sourceDateEpoch: plan.options.sourceDateEpoch,
    listsMaxAge: theSpec.packageListsMaxAge,
    meta,
    logger,
    run: (file, args, opts) => run(file, args, { stage: name, logger, ...opts }),
  };
}

async function buildIsoBase(work: string) {
  const output: string[] = [];
  const meta: StageMeta = {};
  const ctx = await stageContext('iso-base', work, spec, meta, output);
  await runStageWith(isoBaseStage, ctx);
  return { rootfs: ctx.rootfs, bootfs: ctx.bootfs, meta, output };
}

async function dpkgList(rootfs: string): Promise<string[]> {
  const res = await run('chroot', [rootfs, 'dpkg-query', '-W', '-f', '${db:Status-Abbrev} ${Package}\n']);
  return res.stdout
    .split('\n')
    .filter((l) => l.startsWith('ii '))
    .map((l) => l.slice(3).trim().split(' ').pop() as string);
}

beforeAll(async () => {
  tmp = await tmpDir({ unsafeCleanup: true, prefix: 'isobuild-apt-' });
  repoDir = join(tmp.path, 'repos', 'debian-12');
  // Where the pipeline's cache keeps it: the near-copy test below builds through the pipeline.
  pkgCacheDir = cacheLayout(join(tmp.path, 'cache')).packages;
  await mkdir(repoDir, { recursive: true });
  // VIC's own photon-2.0 base.sh, unchanged: it must run with PKGDIR and rootfs_dir as VIC gave them.
  await copyFile(resolve('repos/photon-2.0/base.sh'), join(repoDir, 'base.sh'));
  await writeFile(
    join(repoDir, 'staging.sh'),
    [
      'echo "staging customizations for $(basename $(dirname $0))"',
      'printf "%s %s %s\\n" "$ISOBUILD_STAGE" "$ISOBUILD_FLAVOUR" "$(rootfs_dir $PKGDIR)" > $(rootfs_dir $PKGDIR)/etc/isobuild-staging-hook',
      '',
    ].join('\n'),
  );
  spec = makeSpec(repoDir, { base: join(repoDir, 'base.sh'), staging: join(repoDir, 'staging.sh') });

  base = await buildIsoBase(join(tmp.path, 'base'));
  // The runner hands staging a copy of iso-base's root and bootfs.
  const stagingWork = join(tmp.path, 'staging');
  await mkdir(stagingWork);
  await run('cp', ['-a', base.rootfs, join(stagingWork, 'rootfs')]);
  await run('cp', ['-a', base.bootfs, join(stagingWork, 'bootfs')]);
  const output: string[] = [];
  const meta = structuredClone(base.meta);
  const ctx = await stageContext('staging', stagingWork, spec, meta, output);
  await runStageWith(stagingStage, ctx);
  staged = { rootfs: ctx.rootfs, bootfs: ctx.bootfs, meta, output };
}, 900_000);

afterAll(async () => {
  await tmp?.cleanup();
});

test('iso-base installs the base packages and one kernel, with vmlinuz in bootfs and modules.dep', async () => {
  const installed = await dpkgList(base.rootfs);
  for (const p of BASE_PACKAGES) expect(installed).toContain(p);
  // kernel_install: files: the kernel's files are unpacked and it and its metapackage recorded
  // in dpkg's database; its tail is not installed.
  const kernels = installed.filter((p) => p.startsWith('linux-image-'));
  expect(kernels.sort()).toEqual([`linux-image-${base.meta.kernelVersion as string}`, KERNEL].sort());
  expect(installed.filter((p) => /^(udev$|initramfs-tools|klibc|adduser$|linux-base$)/.test(p))).toEqual([]);
  expect(base.output.join('\n')).toMatch(
    /unpacking kernel package linux-image-cloud-amd64_\S+\.deb, linux-image-6\S+-cloud-amd64_\S+\.deb \(kernel_install: files\)/,
  );

  const version = base.meta.kernelVersion as string;
  expect(version).toMatch(/-cloud-amd64$/);
  expect((await lstat(join(base.bootfs, 'vmlinuz'))).size).toBeGreaterThan(1_000_000);
  expect(existsSync(join(base.rootfs, 'boot', `vmlinuz-${version}`))).toBe(false);
  const modulesDep = join(base.rootfs, 'lib/modules', version, 'modules.dep');
  expect((await readFile(modulesDep, 'utf8')).length).toBeGreaterThan(1000);
  expect(base.meta.modulesBytes).toBeGreaterThan(1_000_000);
  expect(existsSync(join(base.rootfs, 'etc/initrd-release'))).toBe(true);
});

test("docs: false keeps copyright files and the spec's locales only, and says how much it left out", async () => {
  expect(existsSync(join(base.rootfs, 'usr/share/doc/bash/copyright'))).toBe(true);
  expect((await readdir(join(base.rootfs, 'usr/share/doc/bash'))).sort()).toEqual(['copyright']);
  expect(existsSync(join(base.rootfs, 'usr/share/man/man1/bash.1.gz'))).toBe(false);
  const locales = await readdir(join(base.rootfs, 'usr/share/locale'));
  expect(locales).toContain('de');
  // dpkg may leave a folder of a filtered locale (de_CH), but no file in it.
  const others = locales.filter((l) => l !== 'de' && l !== 'locale.alias');
  const { stdout } = await run('find', [
    ...others.map((l) => join(base.rootfs, 'usr/share/locale', l)),
    '-type',
    'f',
  ]);
  expect(others.length ? stdout.trim() : '').toBe('');
  expect(base.output.join('\n')).toMatch(/docs: false: dpkg left out about [\d.]+ MiB/);
  // Later installs (staging) follow the same filters.
  expect(existsSync(join(staged.rootfs, 'usr/share/man/man1/less.1.gz'))).toBe(false);
  expect(existsSync(join(staged.rootfs, 'usr/share/doc/less/copyright'))).toBe(true);
});

test('staging uses the package lists iso-base fetched minutes ago instead of asking the mirror again', () => {
  expect(base.output.join('\n')).toContain('apt: refreshing package lists');
  expect(staged.output.join('\n')).toMatch(/apt: package lists \d+ (s|min) old, not refreshed/);
});

test('the root is merged-/usr, VIC base.sh ran unchanged, and host files and caches are gone', async () => {
  expect(await readlink(join(base.rootfs, 'lib'))).toBe('usr/lib');
  // Debian's lib64 link wins over the lib64 -> /lib that VIC's layout makes before base.sh.
  expect(await readlink(join(base.rootfs, 'lib64'))).toBe('usr/lib64');
  expect(base.output.join('\n')).toContain('base customizations for debian-12');
  expect(await readFile(join(base.rootfs, 'etc/hostname'), 'utf8')).toBe('localhost\n');
  expect(existsSync(join(base.rootfs, 'etc/resolv.conf'))).toBe(false);
  expect(existsSync(join(base.rootfs, 'usr/sbin/policy-rc.d'))).toBe(false);
  const { stdout } = await run('find', [
    join(base.rootfs, 'var/cache/apt'),
    join(base.rootfs, 'var/lib/apt/lists'),
    '-type',
    'f',
  ]);
  expect(stdout.split('\n').filter((l) => l.endsWith('.deb') || l.includes('_Packages'))).toEqual([]);
});

test('staging installs the bootstrap packages and runs staging.sh with the documented environment', async () => {
  const installed = await dpkgList(staged.rootfs);
  for (const p of [...BASE_PACKAGES, ...BOOTSTRAP_PACKAGES]) expect(installed).toContain(p);
  const hookSaw = await readFile(join(staged.rootfs, 'etc/isobuild-staging-hook'), 'utf8');
  expect(hookSaw).toBe(`staging bootstrap ${staged.rootfs}\n`);
  expect(staged.meta.kernelVersion).toBe(base.meta.kernelVersion);
});

test('a failing staging.sh names the hook, the stage and the tail of its output', async () => {
  const failingRepo = join(tmp.path, 'repos', 'failing');
  await mkdir(failingRepo, { recursive: true });
  await writeFile(
    join(failingRepo, 'staging.sh'),
    'echo first line\necho "it broke here" >&2\nexit 3\necho never\n',
  );
  const failing = {
    ...makeSpec(failingRepo, { staging: join(failingRepo, 'staging.sh') }),
    packages: { base: [], bootstrap: [], appliance: [] },
  };
  const ctx = await stageContext('staging', join(tmp.path, 'fail-work'), failing, {}, []);
  await mkdir(ctx.rootfs, { recursive: true });
  await mkdir(ctx.bootfs, { recursive: true });
  const err = await runStageWith(stagingStage, ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CommandError);
  const message = (err as CommandError).message;
  expect(message).toContain('stage staging');
  expect(message).toContain(join(failingRepo, 'staging.sh'));
  expect(message).toContain('exit status 3');
  expect(message).toContain('it broke here');
  expect(message).not.toContain('never');
});

test('a Dockerfile FROM the exported root finds the kernel installed: nothing to fetch, nothing broken', async () => {
  const work = join(tmp.path, 'from-export');
  await mkdir(join(work, 'context'), { recursive: true });
  await mkdir(join(work, 'tmp'));
  const archive = join(work, 'staged.tar');
  await exportOciImage(staged.rootfs, parseImageRef(archive, work), {
    sourceDateEpoch: 0,
    createdBy: 'test',
  });
  // The image has no package lists (iso-base cleans them): apt knows only dpkg's database, and
  // --no-download fails rather than fetch.
  await writeFile(
    join(work, 'context/Dockerfile'),
    [
      `FROM oci-archive:${archive}`,
      "RUN dpkg-query -W -f '${db:Status-Abbrev} ${Package}\\n' 'linux-image-*' && dpkg --audit && apt-get check" +
        ` && apt-get install -y --no-download ${KERNEL} linux-image-${base.meta.kernelVersion as string}`,
      '',
    ].join('\n'),
  );
  let output = '';
  await buildDockerfile(
    {
      dockerfile: join(work, 'context/Dockerfile'),
      context: join(work, 'context'),
      layout: join(work, 'built'),
      tmpDir: join(work, 'tmp'),
      sourceDateEpoch: 0,
    },
    async (file, args, opts) => {
      const res = await run(file, args, opts);
      if (args.includes('build')) output = res.all;
      return res;
    },
  );
  expect(output).toContain(`ii  ${KERNEL}`);
  expect(output).toContain(`ii  linux-image-${base.meta.kernelVersion as string}`);
  expect(output).toContain(`${KERNEL} is already the newest version`);
  expect(output).toMatch(/0 upgraded, 0 newly installed, 0 to remove/);
}, 600_000);

test("a near-copy repo's cold build downloads nothing and uses the other repo's iso-base", async () => {
  // debian-12 has no base.sh, so iso-base's key holds no repo name: two repos of the same spec
  // share it. Their staging.sh differ, so the copy's staging runs, from the shared package cache.
  const layout = cacheLayout(join(tmp.path, 'cache'));
  const buildRepo = async (name: string, staging: string) => {
    const dir = join(tmp.path, 'repos', name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'staging.sh'), staging);
    const theSpec: ResolvedSpec = { ...makeSpec(dir, { staging: join(dir, 'staging.sh') }), name };
    const lines: string[] = [];
    const logger: Logger = { ...silentLogger, event: (_ev, human) => void (human && lines.push(human)) };
    const plan = makePlan(theSpec, 'bootstrap-staging', {
      cacheRoot: layout.root,
      outputDir: join(tmp.path, 'bin'),
      noCache: false,
      lockTimeout: 0,
      sourceDateEpoch: 1700000000,
    });
    const result = await runPipeline(plan, logger);
    return { result, lines, stagingLog: await readFile(join(layout.logs(name), 'staging.log'), 'utf8') };
  };
  const first = await buildRepo('deb-a', 'echo staging of deb-a\n');
  expect(first.result.outcomes.map((o) => o.status)).toEqual(['built', 'built']);
  const copy = await buildRepo('deb-b', 'echo staging of deb-b\n');
  expect(copy.result.outcomes.map((o) => [o.stage, o.status, o.key])).toEqual([
    ['iso-base', 'hit', first.result.outcomes[0]!.key],
    ['staging', 'built', expect.not.stringMatching(first.result.outcomes[1]!.key)],
  ]);
  expect(copy.lines).toContain('[1/2] iso-base: cached (made by repo deb-a)');
  // The bootstrap packages deb-a's staging fetched are in the shared cache: nothing is downloaded.
  expect(copy.stagingLog).toMatch(/apt: package lists \d+ (s|min) old, not refreshed/);
  expect(copy.stagingLog).toMatch(/Need to get 0 B/);
  expect(copy.stagingLog.split('\n').filter((l) => /\bGet:\d+ /.test(l))).toEqual([]);
}, 900_000);

test('a second cold build with the package cache moved elsewhere uses its lists and downloads nothing', async () => {
  // cp -a to another folder and the original gone: nothing in the cache may lead back to it.
  const moved = join(tmp.path, 'elsewhere', 'packages');
  await mkdir(join(moved, '..'));
  await run('cp', ['-a', pkgCacheDir, moved]);
  const original = pkgCacheDir;
  await rename(original, `${original}.gone`);
  pkgCacheDir = moved;
  expect(await treeMentions(moved, original)).toBeUndefined();

  const again = await buildIsoBase(join(tmp.path, 'base-again'));
  const log = again.output.join('\n');
  expect(log).toMatch(/apt: package lists \d+ (s|min) old, not refreshed/);
  expect(log).not.toContain('[warn]');
  // Release files are revalidated on every update (a few hundred kB); no index or package is fetched.
  // The kernel's lines are marked: with young lists it is fetched beside mmdebstrap.
  const fetched = log
    .split('\n')
    .filter((l) => /^(beside setup: )?Get:\d+ /.test(l) && !/ InRelease \[/.test(l));
  expect(fetched).toEqual([]);
  expect(log).toMatch(/Need to get 0 B/);
  expect(log).toMatch(/kernel package linux-image-.*\.deb fetched and unpacked beside apt setup/);
  expect(base.output.join('\n')).toContain('apt: kernel fetched after mmdebstrap');
  expect(again.meta.kernelVersion).toBe(base.meta.kernelVersion);
  expect(await dpkgList(again.rootfs)).toContain(KERNEL);
}, 900_000);
