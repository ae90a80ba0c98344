import { stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { cacheLayout } from '../cache/cache.js';
import { acquireLock } from '../cache/lock.js';
import { withPackageCache } from '../cache/package-cache.js';
import { BuildError } from '../errors.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import { readToolVersion } from '../exec/tool-version.js';
import { sha256 } from '../fs/hash.js';
import { measureTree } from '../fs/measure-tree.js';
import { formatBytes } from '../fs/disk-space.js';
import { installKernel, makeKernel, resolveKernelConfig, type KernelTree } from '../kernel/build-kernel.js';
import { builtinFragment, checkFragment, driverSymbols, kernelPreset } from '../kernel/kconfig/index.js';
import { checkTarballDigest, digestFile, unpackKernelSource } from '../kernel/source-tree.js';
import { packageInputsOf, packageManagerOf, pmContextOf, type PackageInputs } from '../pm/pm-context.js';
import { defineStage, type StageContext } from '../stage/types.js';
import type { KernelBuildSpec } from '../spec/types.js';
import { driverRequests } from './drivers.js';
import { packageSources } from './package-sources.js';

interface KernelInputs {
  readonly source: KernelBuildSpec['source'];
  /** Set for a source package: it comes through the package manager like any package. */
  readonly packages?: PackageInputs;
  /** The preset's base target and fragment, or the spec's .config. */
  readonly start:
    | { readonly make: 'tinyconfig' | 'defconfig'; readonly preset: string }
    | { readonly file: string };
  /** The spec's fragments, in merge order (after the preset's). */
  readonly fragments: readonly string[];
  /** builtin: drivers — module names that must end =y (empty otherwise). */
  readonly builtin: readonly string[];
}

/** The preset's fragment (templates/kernel/), then the spec's. */
function fragmentFiles(inputs: KernelInputs): string[] {
  const preset = 'preset' in inputs.start ? [kernelPreset(inputs.start.preset).fragment] : [];
  return [...preset, ...inputs.fragments];
}

/** The toolchain whose versions are in the key and name the kept build tree. */
const TOOLCHAIN = [
  ['gcc', ['--version']],
  ['ld', ['--version']],
  ['make', ['--version']],
] as const;

async function toolchainVersions(): Promise<string[]> {
  return Promise.all(TOOLCHAIN.map(([tool, args]) => readToolVersion(tool, args)));
}

/**
 * kernel: build the spec's kernel from source — fetch the source (a package through the package
 * manager into the package cache, or the repo's tarball), resolve its .config (preset or file,
 * fragments, the drivers array =y), make bzImage (modules only for =m), and install it where
 * iso-base installs a packaged kernel. The source is unpacked once and the objects kept per
 * source and toolchain (cache-root/kernel-trees/), with ccache under them: a changed fragment
 * line recompiles only what it touches.
 */
async function runKernel(ctx: StageContext, inputs: KernelInputs): Promise<void> {
  const { file, digest } = await fetchSource(ctx, inputs);
  const trees = cacheLayout(dirname(ctx.pkgCacheDir)).kernelTrees;
  const toolchain = sha256()
    .update(JSON.stringify(await toolchainVersions()))
    .digest('hex')
    .slice(0, 12);
  const dir = join(trees, `${digest.slice(0, 16)}-${toolchain}`);
  // One build in a tree at a time; other repos with the same source wait their turn.
  const lock = await acquireLock(
    trees,
    `${digest.slice(0, 16)}-${toolchain}`,
    Infinity,
    ctx.logger,
    'kernel build tree',
  );
  try {
    const tree: KernelTree = {
      dir,
      src: join(dir, 'src'),
      out: join(dir, 'out'),
      ccacheDir: ccacheDirOf(trees),
    };
    ctx.logger.info(`kernel: source ${file} (sha256 ${digest.slice(0, 16)}…), tree ${dir}`);
    ctx.meta.kernelSource = { kind: inputs.source.kind, file: basename(file), sha256: digest };
    await unpackKernelSource(file, dir, ctx.run, ctx.tmpDir);
    for (const fragment of fragmentFiles(inputs)) await checkFragment(tree.src, fragment);
    const symbols = inputs.builtin.length
      ? await driverSymbols(
          tree.src,
          inputs.builtin.map((name) => ({ name })),
        )
      : [];
    const fragments = fragmentFiles(inputs);
    if (symbols.length) {
      const builtin = join(ctx.tmpDir, 'builtin-drivers.config');
      await writeFile(builtin, await builtinFragment(tree.src, symbols));
      fragments.push(builtin);
    }
    const config = await resolveKernelConfig(
      tree,
      {
        start:
          'file' in inputs.start
            ? { kind: 'file', path: inputs.start.file }
            : { kind: 'make', target: inputs.start.make },
        fragments,
        builtins: symbols,
      },
      { run: ctx.run, sourceDateEpoch: ctx.sourceDateEpoch, stage: ctx.stage },
    );
    ctx.logger.info(
      `kernel: .config sha256 ${config.digest.slice(0, 16)}…${config.modules ? ', with modules' : ', no modules'}`,
    );
    const version = await makeKernel(tree, config, { run: ctx.run, sourceDateEpoch: ctx.sourceDateEpoch });
    await installKernel(tree, config, version, { ...ctx, run: ctx.run, stage: ctx.stage });
    ctx.meta.kernelVersion = version;
    ctx.meta.kernelConfigDigest = config.digest;
    ctx.meta.modulesBytes = (await measureTree(join(ctx.rootfs, 'lib/modules', version))).bytes;
    const { size: bytes } = await stat(join(ctx.bootfs, 'vmlinuz'));
    ctx.logger.info(
      `kernel ${version}: bzImage ${formatBytes(bytes)}${symbols.length ? `, ${symbols.length} drivers built in` : ''}`,
    );
  } finally {
    await lock.release();
  }
}

/** ccache's folder: the user's CCACHE_DIR when set (shared between caches), else beside the trees. */
function ccacheDirOf(trees: string): string {
  return process.env.CCACHE_DIR || join(trees, 'ccache');
}

async function fetchSource(
  ctx: StageContext,
  inputs: KernelInputs,
): Promise<{ file: string; digest: string }> {
  const { source } = inputs;
  if (source.kind === 'tarball')
    return { file: source.path, digest: await checkTarballDigest(source.path, source.sha256, ctx.stage) };
  const packages = inputs.packages!;
  const pm = packageManagerOf(packages);
  if (!pm.downloadKernel)
    throw new BuildError(
      `packagemanager ${pm.name} cannot fetch a single package file: give the kernel source as a tarball in the repo folder`,
      ctx.stage,
    );
  const files = await withPackageCache(ctx, () =>
    pm.downloadKernel!(pmContextOf(ctx, packages), source.name),
  ).catch((err: unknown) => {
    throw new BuildError(
      `kernel.source: cannot fetch the source package "${source.name}" through ${pm.name} ` +
        `(is it in the repo's package sources? Debian 12 has linux-source-6.1): ${(err as Error).message}`,
      ctx.stage,
      { cause: err },
    );
  });
  const file = files.at(-1)!.path;
  return { file, digest: await digestFile(file) };
}

function kernelCommands(inputs: KernelInputs): DeclaredTool[] {
  const reason = 'build the kernel from source (kernel stage)';
  // gcc, ld and make shape the objects: their versions are in the key (and name the kept tree).
  const versioned = TOOLCHAIN.map(([tool, version]) => ({ tool, reason, version }));
  return [
    ...versioned,
    ...(['flex', 'bison', 'bc', 'perl'] as const).map((tool) => ({ tool, reason, version: 'none' as const })),
    { tool: 'bash', reason: "run the kernel's merge_config.sh", version: 'none' },
    { tool: 'ccache', reason: 'reuse object files between kernel builds', version: 'none' },
    { tool: '/usr/include/gelf.h', reason: 'objtool (libelf-dev)', version: 'none' },
    {
      tool: '/usr/include/openssl/opensslv.h',
      reason: 'the kernel build scripts (libssl-dev)',
      version: 'none',
    },
    { tool: 'depmod', reason: "index the built kernel's modules", version: ['--version'] },
    { tool: 'tar', reason: 'unpack the kernel source', version: 'none' },
    ...(inputs.packages
      ? [
          ...packageManagerOf(inputs.packages).tools(inputs.packages.pm),
          { tool: 'dpkg-deb' as const, reason: 'unpack the kernel source package', version: 'none' as const },
        ]
      : []),
  ];
}

function describeKernel(inputs: KernelInputs): string[] {
  const { source } = inputs;
  const tree = 'TREE';
  const lines = [
    '# TREE: CACHE/kernel-trees/<source sha256>-<toolchain>, kept between builds (objects, ccache)',
    `# MAKE: make -C ${tree}/src O=${tree}/out CC="ccache gcc" KCFLAGS=-ffile-prefix-map=${tree}/= KBUILD_BUILD_TIMESTAMP=<SOURCE_DATE_EPOCH> KBUILD_BUILD_USER=isobuild KBUILD_BUILD_HOST=isobuild KBUILD_BUILD_VERSION=1`,
  ];
  if (source.kind === 'package')
    lines.push(
      `apt-get download ${source.name}   # into PKGCACHE/apt/archives, with the root's sources`,
      `dpkg-deb -x ${source.name}_*.deb && tar -xf usr/src/linux-source-*.tar.xz -C ${tree}/src --strip-components=1   # once per source`,
    );
  else
    lines.push(
      `sha256sum ${source.path}${source.sha256 ? `   # must be ${source.sha256}` : ''}`,
      `tar -xf ${source.path} -C ${tree}/src --strip-components=1   # once per source`,
    );
  lines.push(
    'file' in inputs.start ? `cp ${inputs.start.file} ${tree}/out/.config` : `MAKE ${inputs.start.make}`,
  );
  const fragments = [...fragmentFiles(inputs), ...(inputs.builtin.length ? ['builtin-drivers.config'] : [])];
  if (inputs.builtin.length)
    lines.push(
      `# builtin-drivers.config: the symbol building each of ${inputs.builtin.join(' ')} (the Makefiles' obj-$(CONFIG_X) lines) =y, with its dependencies`,
    );
  if (fragments.length)
    lines.push(
      `scripts/kconfig/merge_config.sh -m -O ${tree}/out ${tree}/out/.config ${fragments.join(' ')}`,
    );
  lines.push(
    'MAKE olddefconfig',
    ...(inputs.builtin.length
      ? ['# each driver of builtin-drivers.config must be =y now, else the build stops here']
      : []),
    'MAKE bzImage [modules]   # modules only when .config has =m',
    'cp arch/x86/boot/bzImage BOOTFS/vmlinuz; cp .config BOOTFS/config-VERSION; cp System.map BOOTFS/System.map-VERSION',
    'MAKE INSTALL_MOD_PATH=ROOT INSTALL_MOD_STRIP=1 modules_install   # without modules: modules.builtin* to ROOT/lib/modules/VERSION',
    'depmod -b ROOT VERSION',
  );
  return lines;
}

export const kernelStage = defineStage<KernelInputs>({
  name: 'kernel',
  version: 1,
  mutatesRoot: true,
  applies: (plan) => plan.spec.kernel.kind === 'build',
  inputs: (plan) => {
    const { spec } = plan;
    const kernel = spec.kernel as KernelBuildSpec;
    const preset = kernel.config.kind === 'preset' ? kernelPreset(kernel.config.name) : undefined;
    // The newest name of a renamed common driver is the one a source tree builds.
    const builtin = kernel.builtinDrivers
      ? [...new Set(driverRequests(plan).map((r) => r.orElse?.at(-1) ?? r.name))]
      : [];
    return {
      source: kernel.source,
      ...(kernel.source.kind === 'package' ? { packages: packageInputsOf(spec, plan.options.locked) } : {}),
      start: preset
        ? { make: preset.base, preset: preset.name }
        : { file: (kernel.config as { path: string }).path },
      // The preset's fragment by name only (its path is the checkout's): run and sources find it.
      fragments: [...kernel.fragments],
      builtin,
    };
  },
  sources: async (inputs) => {
    const files = [
      ...(inputs.source.kind === 'tarball' ? [inputs.source.path] : []),
      ...('file' in inputs.start ? [inputs.start.file] : []),
      ...fragmentFiles(inputs),
    ];
    return inputs.packages ? packageSources(inputs.packages, files) : { files };
  },
  commands: kernelCommands,
  describe: describeKernel,
  run: runKernel,
});
