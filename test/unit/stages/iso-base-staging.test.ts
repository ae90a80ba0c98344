import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import type { BuildPlan } from '../../../src/stage/types.js';
import type { ResolvedSpec } from '../../../src/spec/types.js';
import { isoBaseStage } from '../../../src/stages/iso-base.js';
import { stagingStage } from '../../../src/stages/staging.js';
import { describeOf, stageCacheInputs, toolsOf } from '../../helpers/stage-context.js';

let tmp: DirectoryResult;
let plan: BuildPlan;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  const repoDir = join(tmp.path, 'debian-12');
  await mkdir(repoDir);
  await writeFile(join(repoDir, 'base.sh'), 'echo base\n');
  await writeFile(join(repoDir, 'sources.list'), 'deb http://m/debian bookworm main\n');
  const spec = {
    name: 'debian-12',
    repoDir,
    packagemanager: 'apt',
    kernel: { kind: 'file', path: join(repoDir, 'linux.deb'), format: 'deb' },
    release: 'bookworm',
    arch: 'amd64',
    packages: { base: ['kmod'], bootstrap: [], appliance: ['less'] },
    stagingScript: { bootstrap: [], appliance: ['erase', 'nano'] },
    repoFiles: [],
    gpgKeys: [],
    apt: { variant: 'minbase', components: ['main'], sources: join(repoDir, 'sources.list') },
    hooks: { base: join(repoDir, 'base.sh') },
  } as unknown as ResolvedSpec;
  // cacheRoot: where the key reads the package cache's lists (none here: nothing is looked up).
  plan = {
    spec,
    flavour: 'appliance',
    options: { sourceDateEpoch: 0, cacheRoot: join(repoDir, '..', 'cache') },
  } as unknown as BuildPlan;
});
afterEach(() => tmp.cleanup());

test('iso-base declares its tools with reasons, including those for a kernel .deb and base.sh', () => {
  const tools = toolsOf(isoBaseStage, plan).map((t) => t.tool);
  expect(tools).toEqual(expect.arrayContaining(['mmdebstrap', 'depmod', 'xz', 'dpkg-deb', 'bash']));
  for (const t of toolsOf(isoBaseStage, plan)) expect(t.reason).not.toBe('');
});

test("iso-base's cache key reads the base packages, the kernel, base.sh, the sources and tool versions", async () => {
  const inputs = await stageCacheInputs(isoBaseStage, plan);
  expect(inputs.values).toMatchObject({
    base: ['kmod'],
    pm: { release: 'bookworm' },
    kernel: plan.spec.kernel,
  });
  expect(inputs.files).toEqual(
    expect.arrayContaining([
      plan.spec.hooks.base,
      plan.spec.apt.sources,
      (plan.spec.kernel as { path: string }).path,
    ]),
  );
  expect(inputs.toolVersions.some((v) => v.startsWith('mmdebstrap'))).toBe(true);
  expect(inputs.toolVersions.some((v) => v.startsWith('depmod: kmod'))).toBe(true);
});

test("staging's cache key reads only its flavour's script and packages", async () => {
  const inputs = await stageCacheInputs(stagingStage, plan);
  expect(inputs.values).toMatchObject({
    flavour: 'appliance',
    script: ['erase', 'nano'],
    packages: ['less'],
  });
  expect(JSON.stringify(inputs.values)).not.toContain('kmod');
});

test('describe lists the steps in order as commands', () => {
  const base = describeOf(isoBaseStage, plan).join('\n');
  expect(base.indexOf('base.sh')).toBeLessThan(base.indexOf('mmdebstrap'));
  expect(base.indexOf('mmdebstrap')).toBeLessThan(base.indexOf('dpkg-deb -x'));
  expect(base.indexOf('dpkg-deb -x')).toBeLessThan(base.indexOf('depmod -b ROOT VERSION'));
  const staging = describeOf(stagingStage, plan);
  expect(staging).toContain('APT_CONFIG=$TMP/apt.conf apt-get purge -y nano');
  expect(staging).toContain('APT_CONFIG=$TMP/apt.conf apt-get install -y --no-install-recommends less');
});

test("osbuilder's EXTRA_PKGS (--extra-packages) are installed by staging and are part of its key", async () => {
  const extra = { ...plan, options: { ...plan.options, extraPackages: ['strace', 'curl'] } } as BuildPlan;
  expect((await stageCacheInputs(stagingStage, extra)).values).toMatchObject({
    packages: ['less', 'strace', 'curl'],
  });
  expect(describeOf(stagingStage, extra)).toContain(
    'APT_CONFIG=$TMP/apt.conf apt-get install -y --no-install-recommends less strace curl',
  );
});

test("hooks.network (default false) is part of iso-base's key: the hook's sandbox differs", async () => {
  const keyOf = async (raw: object) =>
    (await stageCacheInputs(isoBaseStage, { ...plan, spec: { ...plan.spec, raw } } as BuildPlan)).values;
  expect(await keyOf({})).toMatchObject({ hook: { sandboxed: true, network: false } });
  expect(await keyOf({ hooks: { network: true } })).toMatchObject({
    hook: { sandboxed: true, network: true },
  });
});

test('build --env is part of the key of the stages whose hooks see it, in any order; a repo without the hook ignores it', async () => {
  const withEnv = (hookEnv?: Record<string, string>) =>
    ({ ...plan, options: { ...plan.options, ...(hookEnv ? { hookEnv } : {}) } }) as BuildPlan;
  const values = async (p: BuildPlan) => (await stageCacheInputs(isoBaseStage, p)).values as object;
  expect(await values(withEnv())).not.toHaveProperty('hook.env');
  expect(await values(withEnv({ B: '2', A: '1' }))).toMatchObject({ hook: { env: { A: '1', B: '2' } } });
  // Sorted: the order of the flags does not change the key.
  expect(JSON.stringify(await values(withEnv({ B: '2', A: '1' })))).toBe(
    JSON.stringify(await values(withEnv({ A: '1', B: '2' }))),
  );
  // This repo has base.sh but no staging.sh: staging's key does not change.
  expect((await stageCacheInputs(stagingStage, withEnv({ A: '1' }))).values).toEqual(
    (await stageCacheInputs(stagingStage, withEnv())).values,
  );
});
