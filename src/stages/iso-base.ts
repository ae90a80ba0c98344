import { mkdir, symlink, lstat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ToolNeed } from '../exec/host-tools.js';
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
import { defineStage, type StageContext } from '../stage/types.js';
import { packageSources } from './package-sources.js';
import { packageInputsOf, packageManagerOf, pmContextOf, type PackageInputs } from '../pm/pm-context.js';
import { packageManagerFor } from '../pm/index.js';
import type { KernelBuildSpec, KernelSource, ResolvedSpec } from '../spec/types.js';
import { readToolVersion } from '../exec/tool-version.js';
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
  });
  // A kernel built from source comes with the kernel stage, next.
  const version = inputs.kernel.kind === 'build' ? undefined : await prepareKernel(ctx);
  await pm.clean(pmCtx);
  await touchInRoot(ctx.rootfs, '/etc/initrd-release', ctx.sourceDateEpoch);
  if (version) ctx.meta.kernelVersion = version;
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
  await runDepmod(ctx.rootfs, version, ctx.run, ctx.stage);
  const moved = await moveKernelToBootfs(ctx.rootfs, ctx.bootfs, version, image);
  ctx.logger.info(`kernel ${version}: ${moved.join(', ')} moved to bootfs`);
  ctx.meta.modulesBytes = (await measureTree(await modulesDirOf(ctx.rootfs, version))).bytes;
  return version;
}

function isoBaseTools(inputs: IsoBaseInputs): ToolNeed[] {
  const needs: ToolNeed[] = [
    ...packageManagerOf(inputs).tools(inputs.pm),
    { tool: 'depmod', reason: 'index the kernel modules (modules.dep) for the drivers stage and modprobe' },
    { tool: 'xz', reason: 'decompress .ko.xz kernel modules' },
    { tool: 'zstd', reason: 'decompress .ko.zst kernel modules' },
    { tool: 'gzip', reason: 'decompress .ko.gz kernel modules' },
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
  sources: async (inputs) => {
    const sources = await packageSources(inputs, [
      inputs.hook?.file,
      inputs.kernel.kind === 'file' ? inputs.kernel.path : undefined,
    ]);
    sources.toolVersions.push(await readToolVersion('depmod'));
    return sources;
  },
  tools: isoBaseTools,
  describe: describeIsoBase,
  run: runIsoBase,
});
