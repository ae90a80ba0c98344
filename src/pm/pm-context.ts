import { run } from '../exec/run.js';
import type { PackageLock } from '../lock/lock-file.js';
import type { Logger } from '../log/logger.js';
import type { StageContext } from '../stage/types.js';
import type { ResolvedSpec } from '../spec/types.js';
import { packageManagerFor } from './index.js';
import { COMMON_PM_SPEC_FIELDS, type PackageManager, type PmContext, type PmSpec } from './types.js';

/**
 * The package-manager part of a spec, as a stage's inputs hold it: the common fields and the
 * ones its adapter reads (an adapter never sees another's fields, so the type's others are absent).
 */
export function pmSpecOf(spec: PmSpec): PmSpec {
  const out: Record<string, unknown> = {};
  for (const field of [...COMMON_PM_SPEC_FIELDS, ...packageManagerFor(spec.packagemanager).specFields])
    if (spec[field] !== undefined) out[field] = spec[field];
  // An adapter asks a kernel built from source only its kind; what it is built from is the kernel
  // stage's key alone, so a fragment line does not rebuild the package stages.
  if (spec.kernel?.kind === 'build') out.kernel = { kind: 'build' };
  return out as unknown as PmSpec;
}

/** The inputs of a stage that runs the package manager: the spec's part of it, and `--locked`'s lock. */
export interface PackageInputs {
  readonly pm: PmSpec;
  /** The adapter's own version: its code decides the root as much as the spec does. */
  readonly adapterVersion: number;
  readonly lock?: PackageLock;
}

export function packageInputsOf(spec: ResolvedSpec, lock: PackageLock | undefined): PackageInputs {
  return {
    pm: pmSpecOf(spec),
    adapterVersion: packageManagerFor(spec.packagemanager).version,
    ...(lock ? { lock } : {}),
  };
}

/** The adapter those inputs name. */
export function packageManagerOf(inputs: PackageInputs): PackageManager {
  return packageManagerFor(inputs.pm.packagemanager);
}

/** What a stage hands its package manager: the stage's own context plus the package inputs. */
export function pmContextOf(ctx: StageContext, inputs: PackageInputs): PmContext {
  return {
    spec: inputs.pm,
    rootfs: ctx.rootfs,
    pkgCacheDir: ctx.pkgCacheDir,
    tmpDir: ctx.tmpDir,
    stage: ctx.stage,
    sourceDateEpoch: ctx.sourceDateEpoch,
    listsMaxAge: ctx.listsMaxAge,
    ...(ctx.mirror ? { mirror: ctx.mirror } : {}),
    logger: ctx.logger,
    lock: inputs.lock,
    run: (file, args, opts) => ctx.run(file, args, opts),
  };
}

/** A package-manager context outside any stage (lock, manifests): runs with the caller's logger. */
export function standalonePmContext(o: {
  spec: ResolvedSpec;
  rootfs: string;
  pkgCacheDir: string;
  tmpDir: string;
  stage: string;
  sourceDateEpoch?: number;
  logger: Logger;
  lock?: PackageLock;
}): PmContext {
  return {
    ...o,
    spec: pmSpecOf(o.spec),
    listsMaxAge: o.spec.packageListsMaxAge,
    run: (file, args, opts) => run(file, args, { stage: o.stage, logger: o.logger, ...opts }),
  };
}
