import { chmod, mkdir, symlink, lstat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DeclaredTool } from '../exec/host-tools.js';
import { hookInputsOf, hookTools, runHook, type HookInputs } from '../hooks/run-hook.js';
import { moveKernelToBootfs } from '../kernel/boot-files.js';
import {
  describeKernelFile,
  extractKernelFiles,
  kernelFileTools,
  type MergeKernelOptions,
} from '../kernel/extract-kernel.js';
import { startKernelBesideSetup, type KernelBesideSetup } from '../kernel/kernel-beside-setup.js';
import { findKernelImage, findKernels, pickKernelVersion } from '../kernel/find-kernel.js';
import { decompressModules, modulesDirOf, runDepmod } from '../kernel/modules.js';
import { checkRootAgainstLock } from '../lock/use-lock.js';
import { withPackageCache } from '../cache/package-cache.js';
import { defineStage, type GrowBase, type Growth, type StageContext } from '../stage/types.js';
import { copyTree, removeTree } from '../fs/fs-tree.js';
import { describeGrowth, shortKey } from '../stage/growth.js';
import { packageSources } from './package-sources.js';
import { packageInputsOf, packageManagerOf, pmContextOf, type PackageInputs } from '../pm/pm-context.js';
import { packageManagerFor } from '../pm/index.js';
import type { KernelBuildSpec, KernelSource, PackageManagerName, ResolvedSpec } from '../spec/types.js';
import { touchInRoot } from '../rootfs/write-in-root.js';
import { measureTree } from '../fs/measure-tree.js';

interface IsoBaseInputs extends PackageInputs {
  /** base.sh sees the repo's name (its folder's path is keyed relative: moving a checkout keeps the cache). */
  readonly hook?: HookInputs;
  readonly base: readonly string[];
  /** A kernel built from source only as its kind: what it is built from is the kernel stage's key, not this one's. */
  readonly kernel: Exclude<KernelSource, KernelBuildSpec> | { readonly kind: 'build' };
  /** kernel_install: files, when the adapter can fetch a single package (apt; RPM installs it). */
  readonly unpackKernel: boolean;
}

function unpacksKernel(spec: ResolvedSpec): boolean {
  return (
    spec.kernelInstall === 'files' &&
    spec.kernel.kind === 'package' &&
    packageManagerFor(spec.packagemanager).downloadKernel !== undefined
  );
}

/**
 * iso-base (VIC's isos/base.sh): an empty root laid out as VIC's, the repo's base.sh, the
 * package manager set up with the base packages, the kernel, its modules decompressed and
 * indexed, vmlinuz moved to bootfs.
 */
async function runIsoBase(ctx: StageContext, inputs: IsoBaseInputs): Promise<void> {
  if (ctx.growFrom) {
    const refused = await growIsoBase(ctx, inputs, ctx.growFrom);
    if (!refused) return;
    ctx.logger.info(`iso-base: full build (incremental root not identical: ${refused})`);
    await emptyRoot(ctx);
  }
  const pm = packageManagerOf(inputs);
  const pmCtx = pmContextOf(ctx, inputs);
  await layOutRoot(ctx);
  if (inputs.hook) await runHook(ctx, inputs.hook);
  ctx.logger.info(`setting up ${inputs.pm.packagemanager} with ${inputs.base.length} base packages`);
  await withPackageCache(ctx, async () => {
    const early = fetchKernelBesideSetup(ctx, inputs);
    try {
      await pm.setup(pmCtx, inputs.base);
    } catch (err) {
      await early?.end();
      throw err;
    }
    await installKernel(ctx, inputs, early);
    await checkRootAgainstLock(ctx, inputs);
    // What a later build checks before it grows this root (growIsoBase).
    const lists = await pm.listsDigest?.(pmCtx);
    if (lists) ctx.meta.packageLists = lists;
  });
  // A kernel built from source comes with the kernel stage, next.
  const version = inputs.kernel.kind === 'build' ? undefined : await prepareKernel(ctx);
  await pm.clean(pmCtx);
  await touchInRoot(ctx.rootfs, '/etc/initrd-release', ctx.sourceDateEpoch);
  if (version) ctx.meta.kernelVersion = version;
}

/**
 * Incremental roots (docs/cache.md): a copy of a cached iso-base root built from the same
 * package lists, with only the added base packages installed by the package manager, then
 * the kernel modules indexed again and the root cleaned as a cold build cleans it. Returns
 * why the result would not be the cold build's bytes (the caller then builds from nothing).
 */
async function growIsoBase(
  ctx: StageContext,
  inputs: IsoBaseInputs,
  base: GrowBase,
): Promise<string | undefined> {
  const pm = packageManagerOf(inputs);
  if (!pm.addToRoot || !pm.listsDigest) return `${pm.name} cannot add packages to a root as its setup would`;
  const pmCtx = pmContextOf(ctx, inputs);
  const version = base.meta.kernelVersion;
  if (!version) return `entry ${base.key} records no kernel version`;
  const refused = await withPackageCache(ctx, async () => {
    if (!base.meta.packageLists)
      return `${shortKey(base.key)} does not record its package lists (an older isobuild built it)`;
    const lists = await pm.listsDigest!(pmCtx);
    if (!lists || lists !== base.meta.packageLists)
      return `the package lists differ from those ${shortKey(base.key)} was built from`;
    ctx.logger.info(`iso-base: ${describeGrowth(base)}`);
    await copyInto(base.rootfs, ctx.rootfs);
    await copyInto(base.bootfs, ctx.bootfs);
    const why = await pm.addToRoot!(pmCtx, base.added);
    if (why) return why;
    // A refresh while installing (the lists grew too old) brings versions the base root lacks.
    if ((await pm.listsDigest!(pmCtx)) !== lists) return 'the package lists were refreshed while installing';
    await checkRootAgainstLock(ctx, inputs);
    return undefined;
  });
  if (refused) return refused;
  // A second kernel would make the cold build pick one or fail: only the cold build says which.
  const found = await findKernels(ctx.rootfs);
  if (found.bootImages.length || found.moduleDirs.some((d) => d !== version))
    return 'an added package brings a kernel';
  // An added package may bring kernel modules: indexed as the cold build indexes them.
  await decompressModules(ctx.rootfs, version, ctx.run);
  await runDepmod(ctx.rootfs, version, ctx.run, ctx.stage, ctx.sourceDateEpoch);
  await pm.clean(pmCtx);
  Object.assign(ctx.meta, base.meta, {
    grownFrom: base.key,
    modulesBytes: (await measureTree(await modulesDirOf(ctx.rootfs, version))).bytes,
  });
  return undefined;
}

/** A copy of a cached tree's contents into the (empty) folder the runner made. */
async function copyInto(from: string, to: string): Promise<void> {
  await removeTree(to);
  await copyTree(from, to);
}

/** Back to the empty root and bootfs the runner hands a first stage. */
async function emptyRoot(ctx: StageContext): Promise<void> {
  for (const dir of [ctx.rootfs, ctx.bootfs]) {
    await removeTree(dir);
    await mkdir(dir);
    await chmod(dir, 0o755);
  }
}

/** VIC's initialize_bundle and base.sh: rootfs and bootfs, and lib64 -> /lib before base.sh runs. */
async function layOutRoot(ctx: StageContext): Promise<void> {
  await mkdir(ctx.rootfs, { recursive: true, mode: 0o755 });
  await mkdir(ctx.bootfs, { recursive: true, mode: 0o755 });
  const lib64 = join(ctx.rootfs, 'lib64');
  if (!(await lstat(lib64).catch(() => undefined))) await symlink('/lib', lib64);
}

/** kernel_install: files, and the adapter can fetch from no root: the kernel's download starts with setup. */
function fetchKernelBesideSetup(ctx: StageContext, inputs: IsoBaseInputs): KernelBesideSetup | undefined {
  const pm = packageManagerOf(inputs);
  const { kernel } = inputs;
  if (kernel.kind !== 'package' || !inputs.unpackKernel || !pm.downloadKernelBesideSetup) return undefined;
  return startKernelBesideSetup(
    ctx,
    (run) => pm.downloadKernelBesideSetup!({ ...pmContextOf(ctx, inputs), run }, kernel.name),
    `${pm.name} setup`,
  );
}

async function installKernel(
  ctx: StageContext,
  inputs: IsoBaseInputs,
  early?: KernelBesideSetup,
): Promise<void> {
  const { kernel } = inputs;
  const pm = packageManagerOf(inputs);
  if (await early?.merge(ctx.rootfs)) return;
  if (kernel.kind === 'package' && inputs.unpackKernel) {
    // Only the kernel's own files: its dependency tail (udev, initramfs-tools, klibc...) and
    // maintainer scripts never run; depmod below is all the kernel needs.
    const files = await pm.downloadKernel!(pmContextOf(ctx, inputs), kernel.name);
    const names = files.map((f) => basename(f.path)).join(', ');
    ctx.logger.info(`unpacking kernel package ${names} (kernel_install: files)`);
    await extractKernelFiles(files, ctx.rootfs, kernelMergeOptions(ctx));
  } else if (kernel.kind === 'package') {
    ctx.logger.info(`installing kernel package ${kernel.name}`);
    await pm.install(pmContextOf(ctx, inputs), [kernel.name]);
  } else if (kernel.kind === 'file') {
    ctx.logger.info(`unpacking kernel file ${kernel.path}`);
    await extractKernelFiles([kernel], ctx.rootfs, kernelMergeOptions(ctx));
  }
}

function kernelMergeOptions(ctx: StageContext): MergeKernelOptions {
  return { tmpDir: ctx.tmpDir, run: ctx.run, stage: ctx.stage, epoch: ctx.sourceDateEpoch };
}

/** One kernel version, plain .ko modules, modules.dep, vmlinuz in bootfs. */
async function prepareKernel(ctx: StageContext): Promise<string> {
  const found = await findKernels(ctx.rootfs);
  const version = pickKernelVersion(found, ctx.stage);
  const image = await findKernelImage(ctx.rootfs, version, found, ctx.stage);
  const decompressed = await decompressModules(ctx.rootfs, version, ctx.run);
  if (decompressed) ctx.logger.info(`decompressed ${decompressed} kernel modules`);
  await runDepmod(ctx.rootfs, version, ctx.run, ctx.stage, ctx.sourceDateEpoch);
  const moved = await moveKernelToBootfs(ctx.rootfs, ctx.bootfs, version, image);
  ctx.logger.info(`kernel ${version}: ${moved.join(', ')} moved to bootfs`);
  ctx.meta.modulesBytes = (await measureTree(await modulesDirOf(ctx.rootfs, version))).bytes;
  return version;
}

/**
 * An iso-base entry can be grown into this one when only packages were added to packages.base:
 * every other value equal (release, sources, essential variant, kernel, hook, lock...).
 */
export function growsByBasePackages(was: unknown, now: unknown): Growth {
  const w = (was ?? {}) as Record<string, unknown>;
  const n = (now ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(w), ...Object.keys(n)])].filter((k) => k !== 'base').sort();
  const manager = (n.pm as { packagemanager?: PackageManagerName } | undefined)?.packagemanager;
  if (!manager || !packageManagerFor(manager).addToRoot)
    return {
      refused: `${manager ?? 'the package manager'} cannot add packages to a root as its setup would`,
    };
  const changed = keys.filter((k) => JSON.stringify(w[k]) !== JSON.stringify(n[k]));
  if (changed.length) return { refused: `${changed.map((k) => `spec ${k}`).join(', ')} changed` };
  const before = new Set(Array.isArray(w.base) ? w.base.map(String) : []);
  const after = new Set(Array.isArray(n.base) ? n.base.map(String) : []);
  const removed = [...before].filter((p) => !after.has(p));
  if (removed.length) return { refused: `packages removed from packages.base (-${removed.join(', -')})` };
  const added = [...after].filter((p) => !before.has(p));
  if (!added.length) return { refused: 'packages.base lists the same packages' };
  return { added };
}

function isoBaseCommands(inputs: IsoBaseInputs): DeclaredTool[] {
  const needs: DeclaredTool[] = [
    ...packageManagerOf(inputs).tools(inputs.pm),
    {
      tool: 'depmod',
      reason: 'index the kernel modules (modules.dep) for the drivers stage and modprobe',
      version: ['--version'],
    },
    // Decompressing gives the same bytes whatever their version.
    { tool: 'xz', reason: 'decompress .ko.xz kernel modules', version: 'none' },
    { tool: 'zstd', reason: 'decompress .ko.zst kernel modules', version: 'none' },
    { tool: 'gzip', reason: 'decompress .ko.gz kernel modules', version: 'none' },
  ];
  if (inputs.hook) needs.push(...hookTools(inputs.hook));
  if (inputs.kernel.kind === 'file') needs.push(...kernelFileTools(inputs.kernel.format));
  return needs;
}

function describeIsoBase(inputs: IsoBaseInputs): string[] {
  const { pm: spec, kernel } = inputs;
  const pm = packageManagerOf(inputs);
  const lines = ['mkdir ROOT BOOTFS && ln -s /lib ROOT/lib64'];
  if (inputs.hook) lines.push(`PKGDIR=BUNDLE bash -c '. "$0"' ${inputs.hook.file}   # see docs/hooks.md`);
  lines.push(...pm.describe(spec, 'setup', inputs.base));
  if (kernel.kind === 'package' && inputs.unpackKernel) {
    if (pm.downloadKernelBesideSetup)
      lines.push(
        `# the kernel's download and unpacking start with ${pm.name}'s setup above; the merge waits for it`,
      );
    lines.push(...pm.describe(spec, 'download-kernel', [kernel.name]));
  } else if (kernel.kind === 'package') lines.push(...pm.describe(spec, 'install', [kernel.name]));
  else if (kernel.kind === 'file') lines.push(...describeKernelFile(kernel));
  else
    return [
      ...lines,
      ...pm.describe(spec, 'clean', []),
      'touch ROOT/etc/initrd-release   # the kernel stage brings the kernel',
    ];
  lines.push(
    'find ROOT/lib/modules/VERSION -name "*.ko.xz" -o -name "*.ko.zst" -o -name "*.ko.gz" | xargs -r xz/zstd/gzip -d',
    'depmod -b ROOT VERSION',
    'mv ROOT/boot/vmlinuz-VERSION BOOTFS/vmlinuz   # and /boot/*-VERSION to BOOTFS/',
    ...pm.describe(spec, 'clean', []),
    'touch ROOT/etc/initrd-release',
  );
  return lines;
}

export const isoBaseStage = defineStage<IsoBaseInputs>({
  name: 'iso-base',
  // 2: kernel_install: files records the kernel in the root's dpkg database.
  version: 2,
  mutatesRoot: true,
  applies: () => true,
  inputs: (plan) => {
    const { spec } = plan;
    const hook = hookInputsOf(spec, 'base', undefined, plan.options.hookEnv);
    return {
      ...packageInputsOf(spec, plan.options.locked),
      ...(hook ? { hook } : {}),
      base: spec.packages.base,
      kernel: spec.kernel.kind === 'build' ? { kind: 'build' } : spec.kernel,
      unpackKernel: unpacksKernel(spec),
    };
  },
  sources: (inputs) =>
    packageSources(inputs, [
      inputs.hook?.file,
      inputs.kernel.kind === 'file' ? inputs.kernel.path : undefined,
    ]),
  commands: isoBaseCommands,
  describe: describeIsoBase,
  growsBy: growsByBasePackages,
  run: runIsoBase,
});
