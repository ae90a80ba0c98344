import { readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { COMMON_DRIVERS } from '../drivers/common.js';
import { modulesDir, readModuleIndex } from '../drivers/module-index.js';
import { modulesToPrune, pruneModules } from '../drivers/prune.js';
import { hostPath, walkInRoot } from '../rootfs/root-path.js';
import { runDepmod } from '../kernel/modules.js';
import { closeOverDependencies, planDrivers, type DriverRequest } from '../drivers/resolve.js';
import { BuildError } from '../errors.js';
import { microvmDrivers } from '../microvm/initrd.js';
import { diskRootDrivers } from '../image/disk-drivers.js';
import { defineStage, type BuildPlan, type StageContext, type StageMeta } from '../stage/types.js';
import type { ResolvedSpec } from '../spec/types.js';

interface DriversInputs {
  readonly requests: readonly DriverRequest[];
  /** drivers: prune every module outside the drivers' closure; all: keep the kernel's modules. */
  readonly modules: ResolvedSpec['modules'];
}
import { measureTree } from '../fs/measure-tree.js';

/** VIC's common list (unless the spec turns it off), then init.sh's drivers array, then the spec's `drivers`. */
export function driverRequests(plan: BuildPlan): DriverRequest[] {
  const common = plan.spec.drivers.common ? COMMON_DRIVERS : [];
  return [
    ...common.map(([name, ...orElse]) => ({
      name,
      source: 'common' as const,
      ...(orElse.length ? { orElse } : {}),
    })),
    ...plan.spec.drivers.repo.map((name) => ({ name, source: 'repo' as const })),
    ...plan.spec.drivers.spec.map((name) => ({ name, source: 'spec' as const })),
    // A microVM's root disk hangs off virtio-mmio: its initrd loads these from the root's modules.
    ...(plan.microvm?.disk
      ? microvmDrivers(plan.microvm.disk).map((name) => ({ name, source: 'common' as const }))
      : []),
    // A disk image's initrd takes its modules from the root too (squashfs, overlay, efivarfs).
    ...(plan.diskImage
      ? diskRootDrivers(plan.spec.disk?.root ?? 'ext4').map((name) => ({ name, source: 'common' as const }))
      : []),
  ];
}

/** The kernel iso-base installed; a root with exactly one /lib/modules/<version> also tells us. */
async function findKernelVersion(root: string, meta: StageMeta): Promise<string> {
  if (meta.kernelVersion) return meta.kernelVersion;
  let versions: string[] = [];
  try {
    versions = await readdir(join(root, 'lib', 'modules'));
  } catch {
    /* reported below */
  }
  if (versions.length === 1) return versions[0]!;
  throw new BuildError(
    `no kernel version recorded by iso-base and /lib/modules holds ${versions.length ? versions.join(', ') : 'nothing'}`,
    'drivers',
  );
}

function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function runDrivers(ctx: StageContext, inputs: DriversInputs): Promise<void> {
  const version = await findKernelVersion(ctx.rootfs, ctx.meta);
  const index = await readModuleIndex(ctx.rootfs, version).catch((err: unknown) => {
    throw new BuildError(
      `cannot read modules.dep of kernel ${version} (${(err as Error).message}); did depmod run in iso-base?`,
      'drivers',
    );
  });
  const plan = planDrivers(index, inputs.requests);
  if (plan.missingRequired.length)
    throw new BuildError(
      plan.missingRequired
        .map(
          (r) =>
            `driver "${r.name}" (from the ${r.source === 'repo' ? "repo's init.sh" : "spec's drivers"}) is neither a module nor built into kernel ${version}`,
        )
        .join('\n'),
      'drivers',
    );
  for (const name of plan.missingCommon)
    ctx.logger.warn(`drivers: kernel ${version} has no driver "${name}" from VIC's common list; skipping it`);

  ctx.meta.kernelVersion = version;
  ctx.meta.drivers = plan.loadOrder;
  ctx.logger.info(
    `drivers: ${plan.loadOrder.length} modules to load (${plan.builtin.length} requested drivers built in): ${plan.loadOrder.join(' ')}`,
  );

  const dir = modulesDir(ctx.rootfs, version);
  if (inputs.modules === 'drivers') {
    const keep = closeOverDependencies(index, plan.loadOrder);
    // Usually no file is left to delete (the pipeline's copy left them out: leaveOutPruned);
    // the folders they were in are removed here.
    const removed = await pruneModules(dir, index, keep);
    // depmod rewrites modules.dep & co. so modprobe never looks for the files just removed.
    await runDepmod(ctx.rootfs, version, ctx.run, ctx.stage, ctx.sourceDateEpoch);
    const pruned = removed.length + (ctx.leftOut?.length ?? 0);
    ctx.logger.info(`drivers: pruned ${pruned} modules, kept ${keep.size}`);
  }
  const payload = await measureTree(dir);
  ctx.meta.modulesBytes = payload.bytes;
  ctx.logger.info(
    `drivers: module payload ${formatMiB(payload.bytes)} in ${payload.files} files (modules: ${inputs.modules})`,
  );
}

/**
 * The module files run would prune, found in the parent's root (read only) as run finds them,
 * relative to the root: the pipeline does not copy them (Debian's cloud kernel: about 1,100
 * files, some 90 of the bench root's 160 MB). Nothing when anything is amiss: the whole root
 * is copied and run reports the problem as before.
 */
async function leaveOutPruned(parentRoot: string, inputs: DriversInputs, meta: StageMeta): Promise<string[]> {
  if (inputs.modules !== 'drivers') return [];
  const version = await findKernelVersion(parentRoot, meta);
  const index = await readModuleIndex(parentRoot, version);
  const plan = planDrivers(index, inputs.requests);
  if (plan.missingRequired.length) return [];
  const dir = await walkInRoot(parentRoot, `/lib/modules/${version}`);
  if (!dir.stat?.isDirectory()) return [];
  const keep = closeOverDependencies(index, plan.loadOrder);
  const unwanted = await modulesToPrune(hostPath(parentRoot, dir.path), index, keep);
  return unwanted.map((rel) => posix.join(dir.path.slice(1), rel));
}

export const driversStage = defineStage<DriversInputs>({
  name: 'drivers',
  version: 1,
  mutatesRoot: true,
  applies: () => true,
  inputs: (plan) => ({ requests: driverRequests(plan), modules: plan.spec.modules }),
  sources: async () => ({ files: [] }),
  commands: (inputs) =>
    inputs.modules === 'drivers'
      ? [{ tool: 'depmod', reason: 'rebuild modules.dep after pruning modules', version: ['--version'] }]
      : [],
  describe: (inputs) => [
    `resolve drivers through /lib/modules/<kernel>/modules.dep, modules.builtin, modules.alias: ${[
      ...new Set(inputs.requests.map((r) => [r.name, ...(r.orElse ?? [])].join('|'))),
    ].join(' ')}`,
    ...(inputs.modules === 'drivers'
      ? ["remove every module outside the drivers' dependency closure", 'depmod -b <root> <kernel>']
      : ['keep every module of the kernel']),
  ],
  leaveOut: leaveOutPruned,
  run: runDrivers,
});
