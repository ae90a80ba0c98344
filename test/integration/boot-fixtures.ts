/**
 * Shared fixtures for the image and boot integration tests: Debian's cloud kernel (downloaded
 * once into a cache, like a package cache), a tiny busybox root whose /init follows the
 * bootstrap init's contract (markers, containerfs disk, poweroff), and a StageContext built by
 * hand for running the initrd and iso stages outside the pipeline.
 */
import { chmod, copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { debianDeb, makeOnce, testCacheRoot } from '../helpers/test-cache.js';
import { run } from '../../src/exec/run.js';
import { silentLogger } from '../../src/log/logger.js';
import type { BuildPlan, StageMeta, StageName } from '../../src/stage/types.js';
import type { ResolvedSpec } from '../../src/spec/types.js';
import { driversStage } from '../../src/stages/drivers.js';
import { initrdStage } from '../../src/stages/initrd.js';
import { tetherStage } from '../../src/stages/tether.js';
import {
  makeContext,
  makeSpec,
  recordingLogger,
  runStageWith,
  type TestStageContext,
} from '../helpers/stage-context.js';
import { targetPlanFields } from '../../src/stage/targets.js';

/** A real build's default when SOURCE_DATE_EPOCH is unset: the edge case tools get wrong. */
export const SDE = 0;

export interface CloudKernel {
  version: string;
  vmlinuz: string;
  /** lib/modules/<version> of the extracted package. */
  modules: string;
}

/** Debian's cloud kernel: virtio and ATA as modules, ext4 built in; boots in ~2 s under TCG. */
export async function cloudKernel(): Promise<CloudKernel> {
  const dir = await makeOnce(join(testCacheRoot(), 'cloud-kernel'), async (partial) => {
    const deps = await run('apt-cache', ['depends', 'linux-image-cloud-amd64']);
    const pkg = /Depends: (linux-image-\S+)/.exec(deps.stdout)?.[1];
    if (!pkg) throw new Error(`no kernel package behind linux-image-cloud-amd64:\n${deps.stdout}`);
    await run('dpkg-deb', ['-x', await debianDeb(pkg), partial]);
  });
  const boot = (await readdir(join(dir, 'boot'))).find((n) => n.startsWith('vmlinuz-'))!;
  const version = boot.slice('vmlinuz-'.length);
  return { version, vmlinuz: join(dir, 'boot', boot), modules: join(dir, 'lib/modules', version) };
}

/** Modules the tiny init loads to see a virtio disk, in dependency order. */
export const VIRTIO_MODULES = [
  'drivers/virtio/virtio.ko',
  'drivers/virtio/virtio_ring.ko',
  'drivers/virtio/virtio_pci_modern_dev.ko',
  'drivers/virtio/virtio_pci_legacy_dev.ko',
  'drivers/virtio/virtio_pci.ko',
  'drivers/block/virtio_blk.ko',
];

/**
 * A stand-in for the bootstrap init (written by the tether stage): mounts the API file
 * systems, loads the virtio modules, waits for the ext4 disk labelled containerfs, puts
 * busybox in a /.tether tmpfs, switch_roots, runs /.isobuild/command between the markers
 * and powers off. Without a disk it just says hello and powers off.
 */
const TINY_INIT = `#!/bin/busybox sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo 1 > /proc/sys/kernel/printk
echo "tiny-init: up on $(uname -r)"
for m in virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
  modprobe $m
done
dev=
i=0
while [ $i -lt 20 ]; do
  dev=$(findfs LABEL=containerfs 2>/dev/null) && break
  sleep 0.25
  i=$((i + 1))
done
if [ -z "$dev" ]; then
  echo "tiny-init: no containerfs disk"
  poweroff -f
fi
mkdir -p /mnt
mount -t ext4 "$dev" /mnt
mkdir -p /mnt/.tether
mount -t tmpfs tmpfs /mnt/.tether
mkdir -p /mnt/.tether/bin
cp /bin/busybox /mnt/.tether/bin/busybox
mkdir -p /mnt/proc /mnt/dev
mount --move /proc /mnt/proc
mount --move /dev /mnt/dev
exec switch_root /mnt /.tether/bin/busybox sh -c '
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
echo ISOBUILD-BEGIN
/.tether/bin/busybox sh /.isobuild/command
echo "ISOBUILD-EXIT $?"
/.tether/bin/busybox poweroff -f'
`;

/** Puts the virtio disk modules of `kernel` into `root` with their modules.dep. */
export async function addVirtioModules(root: string, kernel: CloudKernel): Promise<void> {
  const modDir = join(root, 'lib/modules', kernel.version);
  for (const m of VIRTIO_MODULES) {
    await mkdir(join(modDir, 'kernel', m, '..'), { recursive: true });
    await copyFile(join(kernel.modules, 'kernel', m), join(modDir, 'kernel', m));
  }
  await run('depmod', ['-b', root, kernel.version]);
}

/** The module names of VIRTIO_MODULES, dependencies first: what the drivers stage would resolve. */
export const VIRTIO_DRIVERS = VIRTIO_MODULES.map((m) => m.replace(/^.*\//, '').replace(/\.ko$/, ''));

/** A Debian package's files, downloaded once into the test cache (apt-get download) and extracted. */
export async function debianPackageFiles(name: string, into: string): Promise<void> {
  await run('dpkg-deb', ['-x', await debianDeb(name), into]);
}

/** Writes the tiny root into `root` (which must not exist yet). */
export async function makeTinyRoot(root: string, kernel: CloudKernel): Promise<void> {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'mnt', 'tmp'])
    await mkdir(join(root, d), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  const applets = (await run('/bin/busybox', ['--list'])).stdout
    .split('\n')
    .filter((a) => a && a !== 'busybox');
  for (const a of applets) await symlink('busybox', join(root, 'bin', a));
  await writeFile(join(root, 'init'), TINY_INIT, { mode: 0o755 });
  await addVirtioModules(root, kernel);
}

/** A tiny root and a boot tree holding the cloud kernel's vmlinuz, under `dir`: what the initrd stage reads. */
export async function makeTinyTrees(
  dir: string,
): Promise<{ rootfs: string; bootfs: string; kernel: CloudKernel }> {
  const kernel = await cloudKernel();
  const rootfs = join(dir, 'rootfs');
  const bootfs = join(dir, 'bootfs');
  await makeTinyRoot(rootfs, kernel);
  await mkdir(bootfs);
  await copyFile(kernel.vmlinuz, join(bootfs, 'vmlinuz'));
  return { rootfs, bootfs, kernel };
}

/** The fields of a resolved spec the image stages read; the rest is never looked at. */
export function tinySpec(over: Partial<ResolvedSpec> = {}): ResolvedSpec {
  return makeSpec({
    name: 'tiny',
    repoDir: '/nonexistent/tiny',
    specFile: '/nonexistent/tiny/repo-spec.json',
    init: '/init',
    modules: 'drivers',
    raw: {} as ResolvedSpec['raw'],
    ...over,
  });
}

export interface HandContext {
  ctx: TestStageContext;
  dir: string;
}

/**
 * A StageContext as the pipeline runner makes one for a read-only stage: the root and boot
 * tree of the parent, an artifacts folder shared down the stages, a scratch folder.
 */
export async function makeStageContext(
  stage: StageName,
  dirs: { rootfs: string; bootfs: string; artifacts: string; tmpDir: string },
  spec: ResolvedSpec,
  meta: StageMeta = {},
): Promise<TestStageContext> {
  await mkdir(dirs.tmpDir, { recursive: true });
  await mkdir(dirs.artifacts, { recursive: true });
  const plan = {
    spec,
    ...targetPlanFields('bootstrap'),
    stages: [],
    options: {
      cacheRoot: '/nonexistent',
      outputDir: '/nonexistent',
      noCache: true,
      lockTimeout: 0,
      sourceDateEpoch: SDE,
    },
  } as BuildPlan;
  return {
    plan,
    spec,
    stage,
    ...dirs,
    pkgCacheDir: join(dirs.tmpDir, 'pkg'),
    sourceDateEpoch: SDE,
    listsMaxAge: spec.packageListsMaxAge,
    meta,
    logger: silentLogger,
    run: (file, args, opts) => run(file, args, { stage, ...opts }),
  };
}

/**
 * The tether and initrd stages on `rootfs` (laid out by the caller, kernel modules included),
 * as the pipeline runs them for a bootstrap: returns the kernel+initrd folder `isobuild run`
 * boots, and the tether stage's log.
 */
export async function makeBootstrapImage(o: {
  dir: string;
  rootfs: string;
  kernel: CloudKernel;
  spec?: Partial<ResolvedSpec>;
  /** Run the real drivers stage (VIC's list, init.sh's array) on the root's whole module tree. */
  drivers?: boolean;
}): Promise<{ folder: string; logger: ReturnType<typeof recordingLogger>; meta: StageMeta }> {
  const logger = recordingLogger();
  const spec = makeSpec({ init: '/bin/init', modules: 'drivers', compression: 'auto', ...o.spec });
  const meta: StageMeta = { kernelVersion: o.kernel.version, drivers: [...VIRTIO_DRIVERS] };
  const tmp = (name: string) => join(o.dir, `tmp-${name}`);
  if (o.drivers) {
    await mkdir(tmp('drivers'), { recursive: true });
    await runStageWith(
      driversStage,
      makeContext({ stage: 'drivers', rootfs: o.rootfs, tmpDir: tmp('drivers'), spec, meta, logger }),
    );
  }
  await mkdir(tmp('tether'), { recursive: true });
  await runStageWith(
    tetherStage,
    makeContext({ stage: 'tether', rootfs: o.rootfs, tmpDir: tmp('tether'), spec, meta, logger }),
  );
  const bootfs = join(o.dir, 'bootfs');
  await mkdir(bootfs, { recursive: true });
  await copyFile(o.kernel.vmlinuz, join(bootfs, 'vmlinuz'));
  const folder = join(o.dir, 'out');
  const ctx = await makeStageContext(
    'initrd',
    { rootfs: o.rootfs, bootfs, artifacts: folder, tmpDir: tmp('initrd') },
    spec,
    meta,
  );
  await runStageWith(initrdStage, ctx);
  return { folder, logger, meta };
}
