import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';
import { sha256 } from '../../src/fs/hash.js';
import { kernelPreset } from '../../src/kernel/kconfig/index.js';
import type { KernelBuildSpec, ResolvedSpec } from '../../src/spec/types.js';
import { kernelStage } from '../../src/stages/kernel.js';
import { makeContext, makeSpec, runStageWith, type TestStageContext } from './stage-context.js';
import { debianDeb, makeOnce, testCacheRoot } from './test-cache.js';

/** Debian 12's kernel source package: one .deb for every architecture. */
const SOURCE_DEB = /^linux-source-6\.1_[^_]+_all\.deb$/;

/** linux-source-6.1's tarball, out of its .deb, in the test cache (the kernel stage's `tarball` source). */
export async function kernelSourceTarball(): Promise<string> {
  const deb = await debianDeb('linux-source-6.1', SOURCE_DEB);
  const name = deb.replace(/^.*\//, '').replace(/\.deb$/, '.tar.xz');
  return makeOnce(join(testCacheRoot(), 'kernel', name), async (partial) => {
    const unpacked = `${partial}.deb`;
    try {
      await run('dpkg-deb', ['-x', deb, unpacked], { stage: 'test cache' });
      const dir = join(unpacked, 'usr/src');
      const tarball = (await readdir(dir)).find((n) => /^linux-source-.*\.tar\.xz$/.test(n));
      if (!tarball) throw new Error(`${deb} holds no usr/src/linux-source-*.tar.xz`);
      await cp(join(dir, tarball), partial);
    } finally {
      await rm(unpacked, { recursive: true, force: true });
    }
  });
}

/** ccache's folder for every kernel the tests build: a second tree anywhere hits the first's objects. */
export function testCcacheDir(): string {
  return join(testCacheRoot(), 'kernel', 'ccache');
}

/** repos/debian-12-microvm's drivers: no VIC common list, the spec's virtio_net. */
const MICROVM_DRIVERS: ResolvedSpec['drivers'] = { common: false, repo: [], spec: ['virtio_net'] };

/** The kernel stage's context for the firecracker target of a spec building `kernel`, in `work`. */
export async function kernelStageContext(work: string, kernel: KernelBuildSpec): Promise<TestStageContext> {
  const dirs = { rootfs: join(work, 'rootfs'), bootfs: join(work, 'bootfs'), tmpDir: join(work, 'tmp') };
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
  const ctx = makeContext({
    stage: 'kernel',
    ...dirs,
    spec: makeSpec({ name: 'kernel-test', kernel, drivers: MICROVM_DRIVERS }),
    target: 'firecracker',
  });
  // The kept build tree goes beside the package cache: here, inside `work`.
  return { ...ctx, pkgCacheDir: join(work, 'package-cache') };
}

/**
 * The microvm preset with the drivers built in, as repos/debian-12-microvm asks (without VIC's
 * common list: the firecracker target's root-disk drivers and virtio_net), from `tarball`.
 */
export function microvmKernelSpec(tarball: string): KernelBuildSpec {
  return {
    kind: 'build',
    source: { kind: 'tarball', path: tarball },
    config: { kind: 'preset', name: 'microvm' },
    fragments: [],
    builtinDrivers: true,
  };
}

/** Runs the kernel stage with the tests' shared ccache. */
export async function runKernelStage(ctx: TestStageContext): Promise<void> {
  const before = process.env.CCACHE_DIR;
  process.env.CCACHE_DIR = testCcacheDir();
  try {
    await runStageWith(kernelStage, ctx);
  } finally {
    if (before === undefined) delete process.env.CCACHE_DIR;
    else process.env.CCACHE_DIR = before;
  }
}

export interface BuiltKernel {
  version: string;
  /** bootfs as the kernel stage left it: vmlinuz, config-VERSION, System.map-VERSION. */
  bootfs: string;
  /** The root's /lib/modules/VERSION. */
  modules: string;
  /** The unstripped vmlinux make linked (the kept tree's out/vmlinux). */
  vmlinux: string;
}

/**
 * The microvm kernel, built once per test cache (the CI run): a cold kernel build is minutes
 * on two cores, so every test that needs it shares this one. Keyed by the source, the preset
 * fragment, the drivers and the kernel stage's version, so a change to any builds it again.
 */
export async function builtMicrovmKernel(): Promise<BuiltKernel> {
  const tarball = await kernelSourceTarball();
  const fingerprint = sha256()
    .update(tarball)
    .update(await readFile(kernelPreset('microvm').fragment))
    .update(JSON.stringify(MICROVM_DRIVERS))
    .update(String(kernelStage.version))
    .digest('hex')
    .slice(0, 16);
  const dir = await makeOnce(join(testCacheRoot(), 'kernel', `microvm-${fingerprint}`), async (partial) => {
    const ctx = await kernelStageContext(join(partial, 'work'), microvmKernelSpec(tarball));
    await runKernelStage(ctx);
    await mkdir(partial, { recursive: true });
    await cp(ctx.bootfs, join(partial, 'bootfs'), { recursive: true });
    await cp(join(ctx.rootfs, 'lib/modules'), join(partial, 'modules'), { recursive: true });
    const trees = join(partial, 'work', 'kernel-trees');
    const [tree] = (await readdir(trees)).filter((n) => !n.endsWith('.lock'));
    await cp(join(trees, tree!, 'out', 'vmlinux'), join(partial, 'vmlinux'));
    await rm(join(partial, 'work'), { recursive: true, force: true });
  });
  const [version] = await readdir(join(dir, 'modules'));
  return {
    version: version!,
    bootfs: join(dir, 'bootfs'),
    modules: join(dir, 'modules', version!),
    vmlinux: join(dir, 'vmlinux'),
  };
}
