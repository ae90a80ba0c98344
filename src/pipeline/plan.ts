import { UsageError } from '../errors.js';
import type { ResolvedSpec } from '../spec/types.js';
import { LAST_STAGE, PIPELINE } from './stages.js';
import {
  TARGETS,
  type BuildOptions,
  type BuildPlan,
  type MicrovmPlan,
  type OutputFormat,
  type Target,
} from './types.js';

const OUTPUTS: Record<Target, readonly OutputFormat[]> = {
  'iso-base': [],
  'bootstrap-staging': [],
  'appliance-staging': [],
  bootstrap: ['iso'],
  appliance: ['iso'],
  initrd: ['kernel+initrd'],
  app: ['iso', 'kernel+initrd'],
  rootfs: ['rootfs'],
  'rootfs-tar': ['rootfs.tar'],
  'rootfs-ext4': ['rootfs.ext4'],
  'rootfs-squashfs': ['rootfs.squashfs'],
  kernel: ['vmlinux'],
  image: ['firecracker'],
  firecracker: ['firecracker'],
  celestial: ['firecracker'],
};

/** Targets whose root boots from a disk with the microVM init, and the image each makes. */
const MICROVM: Partial<Record<Target, MicrovmPlan>> = {
  rootfs: {},
  'rootfs-tar': {},
  'rootfs-ext4': { disk: 'ext4' },
  'rootfs-squashfs': { disk: 'squashfs' },
  kernel: {},
  image: { disk: 'ext4' },
  firecracker: { disk: 'ext4' },
  celestial: { disk: 'squashfs' },
};

export function parseTarget(value: string): Target {
  if ((TARGETS as readonly string[]).includes(value)) return value as Target;
  throw new UsageError(`unknown target "${value}"; targets: ${TARGETS.join(', ')}`);
}

export function defaultBuildOptions(env: NodeJS.ProcessEnv = process.env): BuildOptions {
  return {
    cacheRoot: env.ISOBUILD_CACHE ?? '.isobuild',
    outputDir: 'bin',
    noCache: false,
    lockTimeout: 1800,
    sourceDateEpoch: parseEpoch(env.SOURCE_DATE_EPOCH) ?? 0,
  };
}

export function parseEpoch(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`SOURCE_DATE_EPOCH must be whole seconds, got "${value}"`);
  return Number(value);
}

/**
 * Compile a resolved spec and a target into the ordered list of stages that will run.
 * Pure: nothing is touched on disk, so `isobuild plan` can show it.
 */
export function makePlan(spec: ResolvedSpec, target: Target, options: BuildOptions): BuildPlan {
  if (target === 'app' && !spec.app)
    throw new UsageError(
      `repo ${spec.name} has no "app" section; the app target needs one (see docs/app.md)`,
    );
  const last = PIPELINE.findIndex((s) => s.name === LAST_STAGE[target]);
  const draft: BuildPlan = {
    spec,
    target,
    flavour: target === 'appliance' || target === 'appliance-staging' ? 'appliance' : 'bootstrap',
    app: target === 'app',
    ...(MICROVM[target] ? { microvm: MICROVM[target] } : {}),
    stages: [],
    outputs: OUTPUTS[target],
    options: Object.freeze({ ...options }),
  };
  const stages = PIPELINE.slice(0, last + 1).filter((s) => s.applies(draft));
  return Object.freeze({ ...draft, stages: Object.freeze(stages) });
}

/** The plan cut after `stage`, for commands that want a stage's root (export). */
export function planUpTo(plan: BuildPlan, stage: string): BuildPlan {
  const index = plan.stages.findIndex((s) => s.name === stage);
  if (index < 0)
    throw new UsageError(
      `stage "${stage}" is not part of the ${plan.target} build of ${plan.spec.name}; its stages: ${plan.stages.map((s) => s.name).join(', ')}`,
    );
  return Object.freeze({ ...plan, stages: Object.freeze(plan.stages.slice(0, index + 1)), outputs: [] });
}

export interface PlanDescription {
  repo: string;
  target: Target;
  flavour: string;
  outputs: readonly OutputFormat[];
  stages: { name: string; commands: string[] }[];
}

export function describePlan(plan: BuildPlan): PlanDescription {
  return {
    repo: plan.spec.name,
    target: plan.target,
    flavour: plan.app ? 'app' : plan.flavour,
    outputs: plan.outputs,
    stages: plan.stages.map((s) => ({ name: s.name, commands: s.describe(plan) })),
  };
}
