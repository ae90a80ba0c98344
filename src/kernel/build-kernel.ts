import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError, KernelConfigError } from '../errors.js';
import { exists } from '../fs/exists.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { sha256 } from '../fs/hash.js';
import type { Logger } from '../log/logger.js';
import { kernelMakeEnv } from './build-env.js';
import { checkBuiltins, type DriverSymbol } from './kconfig/index.js';
import { runDepmod } from './modules.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** A kept build tree: the unpacked source and the object folder `make O=` writes. */
export interface KernelTree {
  /** The folder holding both (the path mapped out of the binaries). */
  dir: string;
  src: string;
  out: string;
  ccacheDir: string;
}

/** Where the .config starts from, then the fragments merged over it in order. */
export interface KernelConfigPlan {
  start: { kind: 'make'; target: 'tinyconfig' | 'defconfig' } | { kind: 'file'; path: string };
  /** Fragment files, absolute, merged in order (the preset's first, then the spec's, then the drivers'). */
  fragments: string[];
  /** Drivers that must end =y (builtin: drivers). */
  builtins: readonly DriverSymbol[];
}

export interface ResolvedConfig {
  /** SHA-256 of the resolved .config, for logs and meta. */
  digest: string;
  /** Whether any option is =m (then modules are built and installed). */
  modules: boolean;
}

function makeIn(tree: KernelTree, sourceDateEpoch: number) {
  return kernelMakeEnv({
    tree: tree.dir,
    src: tree.src,
    out: tree.out,
    sourceDateEpoch,
    ccacheDir: tree.ccacheDir,
  });
}

/**
 * Write out/.config: the start (a make target or a copied file), the fragments merged with the
 * kernel's own merge_config.sh, then olddefconfig; every requested built-in is checked after it,
 * so a driver that cannot be =y fails here, before a single object is compiled.
 */
export async function resolveKernelConfig(
  tree: KernelTree,
  plan: KernelConfigPlan,
  o: { run: Runner; sourceDateEpoch: number; stage: string },
): Promise<ResolvedConfig> {
  const make = makeIn(tree, o.sourceDateEpoch);
  const dotConfig = join(tree.out, '.config');
  await mkdir(tree.out, { recursive: true });
  if (plan.start.kind === 'make') await o.run('make', [...make.args, plan.start.target], { env: make.env });
  else await copyFile(plan.start.path, dotConfig);
  if (plan.fragments.length)
    // Through bash, so that the stage declares a host tool, not a script of the tree.
    await o.run(
      'bash',
      [join(tree.src, 'scripts/kconfig/merge_config.sh'), '-m', '-O', tree.out, dotConfig, ...plan.fragments],
      { cwd: tree.src, env: make.env },
    );
  await o.run('make', [...make.args, 'olddefconfig'], { env: make.env });
  if (plan.builtins.length) {
    const problems = await checkBuiltins(tree.src, dotConfig, plan.builtins);
    if (problems.length)
      throw new KernelConfigError(
        problems.map((p) => ({ driver: p.driver, symbol: p.symbol, message: p.message })),
      );
  }
  const text = await readFile(dotConfig, 'utf8');
  return { digest: sha256().update(text).digest('hex'), modules: /^CONFIG_[A-Za-z0-9_]+=m$/m.test(text) };
}

/** make bzImage (vmlinux comes with it), and modules when the config has any. */
export async function makeKernel(
  tree: KernelTree,
  config: ResolvedConfig,
  o: { run: Runner; sourceDateEpoch: number },
): Promise<string> {
  const make = makeIn(tree, o.sourceDateEpoch);
  await o.run('make', [...make.args, 'bzImage', ...(config.modules ? ['modules'] : [])], {
    env: make.env,
    tailLines: 40,
  });
  return (await o.run('make', [...make.args, '-s', 'kernelrelease'], { env: make.env })).stdout.trim();
}

/**
 * Put the built kernel where a packaged one ends up after iso-base: bzImage as bootfs/vmlinuz
 * beside config-VERSION and System.map-VERSION, modules (or, without any, the builtin lists
 * modinfo and the drivers stage read) in /lib/modules/VERSION, indexed by depmod.
 */
export async function installKernel(
  tree: KernelTree,
  config: ResolvedConfig,
  version: string,
  o: { rootfs: string; bootfs: string; run: Runner; sourceDateEpoch: number; stage: string; logger: Logger },
): Promise<void> {
  await mkdir(o.bootfs, { recursive: true });
  const bzImage = join(tree.out, 'arch/x86/boot/bzImage');
  if (!(await exists(bzImage))) throw new BuildError(`make bzImage wrote no ${bzImage}`, o.stage);
  await copyFile(bzImage, join(o.bootfs, 'vmlinuz'));
  await copyFile(join(tree.out, '.config'), join(o.bootfs, `config-${version}`));
  await copyFile(join(tree.out, 'System.map'), join(o.bootfs, `System.map-${version}`));

  const modulesDir = join(o.rootfs, 'lib/modules', version);
  await rm(modulesDir, { recursive: true, force: true });
  if (config.modules) {
    const make = makeIn(tree, o.sourceDateEpoch);
    await o.run(
      'make',
      [...make.args, `INSTALL_MOD_PATH=${o.rootfs}`, 'INSTALL_MOD_STRIP=1', 'DEPMOD=true', 'modules_install'],
      { env: make.env },
    );
    // They point into the build tree, which the image does not have.
    for (const link of ['build', 'source']) await rm(join(modulesDir, link), { force: true });
  } else {
    await mkdir(modulesDir, { recursive: true });
    for (const name of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
      const from = join(tree.out, name);
      if (await exists(from)) await copyFile(from, join(modulesDir, name));
      else await writeFile(join(modulesDir, name), '');
    }
  }
  await runDepmod(o.rootfs, version, o.run, o.stage, o.sourceDateEpoch);
}
