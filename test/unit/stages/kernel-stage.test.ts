import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { kbuildTimestamp, kernelMakeEnv } from '../../../src/kernel/build-env.js';
import { checkTarballDigest, digestFile, unpackKernelSource } from '../../../src/kernel/source-tree.js';
import { PIPELINE } from '../../../src/pipeline/stages.js';
import type { KernelBuildSpec } from '../../../src/spec/types.js';
import { isoBaseStage } from '../../../src/stages/iso-base.js';
import { kernelStage } from '../../../src/stages/kernel.js';
import { makeContext, makeSpec, stageCacheInputs } from '../../helpers/stage-context.js';

/**
 * The kernel stage without a compiler: what its key holds (so a fragment line rebuilds the kernel
 * and nothing before it), the make environment that makes builds reproducible, and the source
 * tree's unpacking and digest check on a tarball made here. The build itself is
 * test/integration/kernel-source.test.ts.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-kernel-stage-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function planFor(kernel: KernelBuildSpec, drivers: string[] = [], common = true) {
  const spec = makeSpec({
    name: 'k',
    repoDir: dir,
    kernel,
    drivers: { common, repo: [], spec: drivers },
  });
  return makeContext({ stage: 'kernel', rootfs: dir, tmpDir: dir, spec, target: 'firecracker' }).plan;
}

function tarballKernel(over: Partial<KernelBuildSpec> = {}): KernelBuildSpec {
  return {
    kind: 'build',
    source: { kind: 'tarball', path: join(dir, 'linux.tar.xz') },
    config: { kind: 'preset', name: 'microvm' },
    fragments: [join(dir, 'extra.config')],
    builtinDrivers: true,
    ...over,
  };
}

test("common_drivers: false (repos/debian-12-microvm) builds in the spec's drivers and the microVM disk's, none of VIC's list", () => {
  const { builtin } = kernelStage.inputs(planFor(tarballKernel(), ['virtio_net'], false)) as unknown as {
    builtin: string[];
  };
  expect(builtin).toEqual(['virtio_net', 'virtio_mmio', 'virtio_blk', 'ext4']);
});

test('runs right after iso-base, only for a kernel built from source', () => {
  expect(PIPELINE.map((s) => s.name).slice(0, 3)).toEqual(['iso-base', 'kernel', 'staging']);
  expect(kernelStage.applies(planFor(tarballKernel()))).toBe(true);
  expect(kernelStage.applies({ ...planFor(tarballKernel()), spec: makeSpec() })).toBe(false);
});

test('the key holds the source, the preset and spec fragments, the drivers and the toolchain; iso-base keeps only the kind', async () => {
  await writeFile(join(dir, 'linux.tar.xz'), 'source');
  await writeFile(join(dir, 'extra.config'), 'CONFIG_FUSE_FS=y\n');
  const plan = planFor(tarballKernel(), ['virtio_net']);
  const inputs = await stageCacheInputs(kernelStage, plan);
  expect(inputs.files).toEqual([
    join(dir, 'linux.tar.xz'),
    expect.stringMatching(/templates\/kernel\/microvm\.config$/),
    join(dir, 'extra.config'),
    // The declared host headers (libelf-dev, libssl-dev): their content is keyed.
    '/usr/include/gelf.h',
    '/usr/include/openssl/opensslv.h',
  ]);
  expect(inputs.toolVersions.map((v) => v.split(':')[0])).toEqual(['depmod', 'gcc', 'ld', 'make']);
  const values = inputs.values as { builtin: string[]; start: unknown };
  expect(values.start).toEqual({ make: 'tinyconfig', preset: 'microvm' });
  // VIC's renamed common drivers by their 6.1 names, the spec's, and the microVM disk's.
  expect(values.builtin).toEqual(
    expect.arrayContaining(['nf_nat', 'nf_conntrack', 'virtio_net', 'virtio_mmio']),
  );
  expect(values.builtin).not.toContain('nf_nat_ipv4');
  expect(new Set(values.builtin).size).toBe(values.builtin.length);
  // A fragment line is in the kernel's key, not in iso-base's.
  expect((await stageCacheInputs(isoBaseStage, plan)).values).toMatchObject({ kernel: { kind: 'build' } });
  expect(JSON.stringify((await stageCacheInputs(isoBaseStage, plan)).values)).not.toContain('extra.config');
  expect(kernelStage.describe(kernelStage.inputs(plan)).join('\n')).toMatch(
    /merge_config\.sh -m .*microvm\.config .*extra\.config builtin-drivers\.config/,
  );
});

test('make is told a fixed date, user, host and build number, and maps the tree out of the objects', () => {
  expect(kbuildTimestamp(0)).toBe('Thu, 01 Jan 1970 00:00:00 +0000');
  const make = kernelMakeEnv({
    tree: '/c/t',
    src: '/c/t/src',
    out: '/c/t/out',
    sourceDateEpoch: 86400,
    ccacheDir: '/c/cc',
    jobs: 2,
  });
  expect(make.args).toEqual([
    '-C',
    '/c/t/src',
    'O=/c/t/out',
    '-j2',
    'CC=ccache gcc',
    'HOSTCC=ccache gcc',
    'KCFLAGS=-ffile-prefix-map=/c/t/=',
    'KAFLAGS=-ffile-prefix-map=/c/t/=',
  ]);
  expect(make.env).toMatchObject({
    SOURCE_DATE_EPOCH: '86400',
    KBUILD_BUILD_TIMESTAMP: 'Fri, 02 Jan 1970 00:00:00 +0000',
    KBUILD_BUILD_USER: 'isobuild',
    KBUILD_BUILD_HOST: 'isobuild',
    KBUILD_BUILD_VERSION: '1',
    CCACHE_DIR: '/c/cc',
    CCACHE_BASEDIR: '/c/t',
  });
});

test('a tarball is checked against sha256 and unpacked once, its top folder stripped', async () => {
  const top = join(dir, 'make', 'linux-6.1.119');
  await mkdir(join(top, 'scripts/kconfig'), { recursive: true });
  await writeFile(join(top, 'Makefile'), 'VERSION = 6\n');
  const tarball = join(dir, 'linux-6.1.119.tar.xz');
  await run('tar', ['-cJf', tarball, '-C', join(dir, 'make'), 'linux-6.1.119']);
  const digest = await digestFile(tarball);
  expect(await checkTarballDigest(tarball, digest, 'kernel')).toBe(digest);
  await expect(checkTarballDigest(tarball, '0'.repeat(64), 'kernel')).rejects.toThrow(BuildError);
  await expect(checkTarballDigest(tarball, '0'.repeat(64), 'kernel')).rejects.toThrow(
    /sha256 is [0-9a-f]{64}, the spec's kernel.sha256 says 0{64}/,
  );

  const tree = join(dir, 'tree');
  await mkdir(tree);
  const runner = (f: string, a: readonly string[]) => run(f, a);
  const src = await unpackKernelSource(tarball, tree, runner, dir);
  expect(src).toBe(join(tree, 'src'));
  expect(await readFile(join(src, 'Makefile'), 'utf8')).toBe('VERSION = 6\n');
  // Once: a second call finds the marker and unpacks nothing (a missing tarball would fail).
  await rm(tarball);
  expect(await unpackKernelSource(tarball, tree, runner, dir)).toBe(src);
});

test('a tarball without a kernel tree is refused', async () => {
  await mkdir(join(dir, 'make', 'not-linux'), { recursive: true });
  await writeFile(join(dir, 'make', 'not-linux', 'README'), '');
  const tarball = join(dir, 'not-linux.tar');
  await run('tar', ['-cf', tarball, '-C', join(dir, 'make'), 'not-linux']);
  await mkdir(join(dir, 'tree'));
  await expect(unpackKernelSource(tarball, join(dir, 'tree'), (f, a) => run(f, a), dir)).rejects.toThrow(
    /no kernel source tree inside/,
  );
});
