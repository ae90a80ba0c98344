import { mkdir, symlink, lstat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ToolNeed } from '../exec/host-tools.js';
import { hooksSandboxed, hookTools, runHook } from '../hooks/run-hook.js';
import { moveKernelToBootfs } from '../kernel/boot-files.js';
import { describeKernelFile, extractKernelFile, kernelFileTools } from '../kernel/extract-kernel.js';
import { findKernelImage, findKernels, pickKernelVersion } from '../kernel/find-kernel.js';
import { decompressModules, modulesDirOf, runDepmod } from '../kernel/modules.js';
import { checkRootAgainstLock } from '../lock/use-lock.js';
import type { BuildPlan, CacheInputs, Stage, StageContext } from '../pipeline/types.js';
import { findAptSources } from '../pm/apt-sources.js';
import { packageManagerFor } from '../pm/index.js';
import { ociInputs } from '../oci/cache-inputs.js';
import { pmContextOf } from '../pm/pm-context.js';
import type { ResolvedSpec } from '../spec/types.js';
import { readToolVersion } from '../exec/tool-version.js';
import { touchInRoot } from '../rootfs/write-in-root.js';
import { measureTree } from '../fs/measure-tree.js';

/**
 * iso-base (VIC's isos/base.sh): an empty root laid out as VIC's, the repo's base.sh, the
 * package manager set up with the base packages, the kernel, its modules decompressed and
 * indexed, vmlinuz moved to bootfs.
 */
async function runIsoBase(ctx: StageContext): Promise<void> {
  const pm = pmContextOf(ctx);
  await layOutRoot(ctx);
  if (ctx.spec.hooks.base) await runHook(ctx, 'base', ctx.spec.hooks.base);
  ctx.logger.info(
    `setting up ${ctx.spec.packagemanager} with ${ctx.spec.packages.base.length} base packages`,
  );
  await ctx.pm.setup(pm, ctx.spec.packages.base);
  await installKernel(ctx);
  await checkRootAgainstLock(ctx);
  const version = await prepareKernel(ctx);
  await ctx.pm.clean(pm);
  await touchInRoot(ctx.rootfs, '/etc/initrd-release', ctx.plan.options.sourceDateEpoch);
  ctx.meta.kernelVersion = version;
}

/** VIC's initialize_bundle and base.sh: rootfs and bootfs, and lib64 -> /lib before base.sh runs. */
async function layOutRoot(ctx: StageContext): Promise<void> {
  await mkdir(ctx.rootfs, { recursive: true, mode: 0o755 });
  await mkdir(ctx.bootfs, { recursive: true, mode: 0o755 });
  const lib64 = join(ctx.rootfs, 'lib64');
  if (!(await lstat(lib64).catch(() => undefined))) await symlink('/lib', lib64);
}

async function installKernel(ctx: StageContext): Promise<void> {
  const kernel = ctx.spec.kernel;
  if (kernel.kind === 'package' && unpacksKernel(ctx.spec)) {
    // Only the kernel's own files: its dependency tail (udev, initramfs-tools, klibc...) and
    // maintainer scripts never run; depmod below is all the kernel needs.
    const files = await ctx.pm.downloadKernel!(pmContextOf(ctx), kernel.name);
    for (const file of files) {
      ctx.logger.info(`unpacking kernel package ${basename(file.path)} (kernel_install: files)`);
      await extractKernelFile(file, ctx.rootfs, ctx.tmpDir, ctx.run, ctx.stage);
    }
  } else if (kernel.kind === 'package') {
    ctx.logger.info(`installing kernel package ${kernel.name}`);
    await ctx.pm.install(pmContextOf(ctx), [kernel.name]);
  } else {
    ctx.logger.info(`unpacking kernel file ${kernel.path}`);
    await extractKernelFile(kernel, ctx.rootfs, ctx.tmpDir, ctx.run, ctx.stage);
  }
}

/** kernel_install: files, when the adapter can fetch a single package (apt; RPM installs it). */
function unpacksKernel(spec: ResolvedSpec): boolean {
  return (
    spec.kernelInstall === 'files' && packageManagerFor(spec.packagemanager).downloadKernel !== undefined
  );
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

/** Files that decide where packages come from: repo files and keys, apt sources (the host's too). */
export async function packageSourceFiles(spec: ResolvedSpec): Promise<string[]> {
  const files = [...spec.repoFiles, ...spec.gpgKeys];
  if (spec.oci) files.push(...(await ociInputs(spec.oci)).files);
  if (spec.packagemanager === 'apt') {
    // An unusable host configuration fails later with a clear message; the key just notes its absence.
    files.push(
      ...(await findAptSources(spec).then(
        (s) => s.files,
        () => [],
      )),
    );
  }
  return files;
}

export async function toolVersions(spec: ResolvedSpec, extra: string[] = []): Promise<string[]> {
  const out = await packageManagerFor(spec.packagemanager).versions(spec);
  for (const tool of extra) out.push(await readToolVersion(tool));
  return out;
}

async function isoBaseInputs(plan: BuildPlan): Promise<CacheInputs> {
  const { spec } = plan;
  const files = await packageSourceFiles(spec);
  if (spec.hooks.base) files.push(spec.hooks.base);
  if (spec.kernel.kind === 'file') files.push(spec.kernel.path);
  return {
    values: {
      // base.sh sees the repo's name (its folder's path is left out: moving a checkout keeps the cache).
      name: spec.name,
      packagemanager: spec.packagemanager,
      release: spec.release,
      base: spec.packages.base,
      kernel: spec.kernel,
      kernelInstall: unpacksKernel(spec) ? 'files' : 'package',
      docs: spec.docs,
      locales: spec.docs ? [] : spec.locales,
      apt: spec.packagemanager === 'apt' ? spec.apt : undefined,
      oci: spec.oci
        ? { image: spec.raw.image, dockerfile: spec.raw.dockerfile, ...(await ociInputs(spec.oci)).values }
        : undefined,
      aptSourcesEnv: spec.packagemanager === 'apt' ? (process.env.ISOBUILD_APT_SOURCES ?? null) : undefined,
      ...(plan.options.locked ? { locked: plan.options.locked.packages } : {}),
      // Only when off, so the default keeps the keys it had before this was an input.
      ...(spec.hooks.base && !hooksSandboxed(spec) ? { hooksSandbox: false } : {}),
    },
    files,
    toolVersions: await toolVersions(spec, ['depmod']),
  };
}

function isoBaseTools(plan: BuildPlan): ToolNeed[] {
  const { spec } = plan;
  const needs: ToolNeed[] = [
    ...packageManagerFor(spec.packagemanager).tools(spec),
    { tool: 'depmod', reason: 'index the kernel modules (modules.dep) for the drivers stage and modprobe' },
    { tool: 'xz', reason: 'decompress .ko.xz kernel modules' },
    { tool: 'zstd', reason: 'decompress .ko.zst kernel modules' },
    { tool: 'gzip', reason: 'decompress .ko.gz kernel modules' },
  ];
  if (spec.hooks.base) needs.push(...hookTools(spec, 'base.sh'));
  if (spec.kernel.kind === 'file') needs.push(...kernelFileTools(spec.kernel.format));
  return needs;
}

function describeIsoBase(plan: BuildPlan): string[] {
  const { spec } = plan;
  const pm = packageManagerFor(spec.packagemanager);
  const lines = ['mkdir ROOT BOOTFS && ln -s /lib ROOT/lib64'];
  if (spec.hooks.base) lines.push(`PKGDIR=BUNDLE bash -c '. "$0"' ${spec.hooks.base}   # see docs/hooks.md`);
  lines.push(...pm.describe(spec, 'setup', spec.packages.base));
  if (spec.kernel.kind === 'package' && unpacksKernel(spec))
    lines.push(...pm.describe(spec, 'download-kernel', [spec.kernel.name]));
  else if (spec.kernel.kind === 'package') lines.push(...pm.describe(spec, 'install', [spec.kernel.name]));
  else lines.push(...describeKernelFile(spec.kernel));
  lines.push(
    'find ROOT/lib/modules/VERSION -name "*.ko.xz" -o -name "*.ko.zst" -o -name "*.ko.gz" | xargs -r xz/zstd/gzip -d',
    'depmod -b ROOT VERSION',
    'mv ROOT/boot/vmlinuz-VERSION BOOTFS/vmlinuz   # and /boot/*-VERSION to BOOTFS/',
    ...pm.describe(spec, 'clean', []),
    'touch ROOT/etc/initrd-release',
  );
  return lines;
}

export const isoBaseStage: Stage = {
  name: 'iso-base',
  version: 1,
  mutatesRoot: true,
  applies: () => true,
  tools: isoBaseTools,
  cacheInputs: isoBaseInputs,
  describe: describeIsoBase,
  run: runIsoBase,
};
