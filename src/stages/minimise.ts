import {
  addAppFiles,
  appInitRequirements,
  appInputsOf,
  appSourceFiles,
  type AppInputs,
} from '../app/layer.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import { defineStage, type BuildPlan } from '../stage/types.js';
import type { ResolvedSpec } from '../spec/types.js';
import { minimiseRoot } from '../minimise/minimise-root.js';
import { describeTrace } from '../minimise/tracer.js';
import { bootsDistroInit, initRequirements } from '../tether/requirements.js';
import { INIT_SCRIPT_PATH } from '../tether/layout.js';
import type { Workload } from '../minimise/tracer.js';
import { copyIntoRoot } from '../rootfs/write-in-root.js';

/**
 * What the init runs from init.sh at boot, into a scratch folder laid out as the tether is. The
 * functions' status is the tether stage's to judge (VIC's are not written for set -e), so the
 * workload itself always succeeds; the trace and the rerun in the small root are what count.
 */
const INSTALL_FUNCTIONS_WORKLOAD: Workload = {
  argv: [
    'bash',
    '--noprofile',
    '--norc',
    '-c',
    `. ${INIT_SCRIPT_PATH}; t=/tmp/isobuild-tether; mkdir -p $t/lib64 $t/usr/lib/iptables $t/run; ` +
      'ln -s lib64 $t/lib; install-iptables $t >/dev/null 2>&1; install-entropy $t >/dev/null 2>&1; ' +
      'ls -R $t; true',
  ],
  timeout: 300,
};

/**
 * bootstrap_initrd: small (the default): a bootstrap or initrd target keeps only what the init
 * layer, the repo's init.sh (bash, what its install functions copy) and the tether use, with
 * their ELF closure and the drivers' modules: the tether's container brings everything else.
 * Appliances boot the whole root with systemd, the app target has its own minimise, microVM
 * targets boot a whole root from a disk.
 */
export function smallBootstrap(plan: BuildPlan): boolean {
  // The targets table says which targets boot a small initrd root (bootstrap, initrd).
  // A bootstrap that boots the distro's own init (systemd, SysV) needs that init's whole userland
  // (units, generators, rc scripts): it keeps the full root, as an appliance does.
  return (
    plan.initrdRoot === 'small' && plan.spec.bootstrapInitrd === 'small' && !bootsDistroInit(plan.spec.init)
  );
}

interface MinimiseStageInputs {
  readonly minimise?: ResolvedSpec['minimise'];
  /** bootstrap_initrd: small without a minimise section: keep what the init layer and init.sh use. */
  readonly smallBootstrap: boolean;
  /** The app target: its files go into the root before tracing, and the app init's needs are kept. */
  readonly app?: AppInputs;
  /** What the init layer needs from the root (initRequirements). */
  readonly initPaths: readonly string[];
  /** The repo's init.sh, whose install functions a small bootstrap traces. */
  readonly initScript?: string;
}

/** unshare runs the others inside its namespaces; strace's version decides what a trace shows. */
const TRACE_TOOLS: DeclaredTool[] = [
  { tool: 'strace', reason: 'trace the minimise workloads', version: ['-V'] },
  {
    tool: 'unshare',
    reason: 'run the workloads in private mount and network namespaces',
    version: 'none',
  },
  { tool: 'mount', reason: 'mount the overlay, proc, sys and dev the workloads run in', version: 'none' },
  { tool: 'timeout', reason: 'stop a minimise workload that runs too long', version: 'none' },
];

/**
 * Optional stage: trace the spec's workloads in the staged root and keep only what they use
 * (seed 000's nbic, with strace instead of atimes). For the app target the app's files go
 * into the root first, so that the workloads can run them.
 */
export const minimiseStage = defineStage<MinimiseStageInputs>({
  name: 'minimise',
  version: 1,
  mutatesRoot: true,
  // A trace an earlier entry recorded is reused when every file it read is unchanged (trace-memo.ts).
  readsEarlierEntries: true,
  // It traces in an overlay, writes only files it removes first (init.sh, the app's files) and
  // swaps in a fresh root: the parent's root is hard-linked, not copied (~70 MB per rebuild).
  linksParentRoot: true,
  applies: (plan) => plan.spec.minimise !== undefined || smallBootstrap(plan),
  inputs: (plan) => {
    const small = smallBootstrap(plan);
    return {
      ...(plan.spec.minimise ? { minimise: plan.spec.minimise } : {}),
      smallBootstrap: small,
      ...(plan.app ? { app: appInputsOf(plan.spec) } : {}),
      initPaths: initRequirements(plan),
      ...(small && !plan.spec.minimise && plan.spec.hooks.init ? { initScript: plan.spec.hooks.init } : {}),
    };
  },
  sources: async (inputs) => ({
    // The app's files and the phase-script template go into the root before tracing.
    files: [
      ...(inputs.app ? appSourceFiles(inputs.app) : []),
      ...(inputs.initScript ? [inputs.initScript] : []),
    ],
  }),
  commands: (inputs) => (inputs.minimise || inputs.initScript ? TRACE_TOOLS : []),
  describe: (inputs) => [
    ...(inputs.minimise
      ? []
      : ['bootstrap_initrd: small: keep only what the init layer, init.sh and the tether use']),
    ...(inputs.app ? ['add the app files and /app/{prerun,run,postrun} to the root'] : []),
    ...(inputs.minimise?.workloads ?? []).map((w) => describeTrace('ROOT', w)),
    'keep traced paths + symlink chains + ELF interpreters/DT_NEEDED + #! interpreters + keep/list_dirs + init needs',
    'rerun every workload in the minimised root and compare stdout, stderr and exit status',
  ],
  run: async (ctx, inputs) => {
    if (!inputs.minimise && !inputs.smallBootstrap) return;
    if (inputs.app) await addAppFiles(ctx, inputs.app);
    const initPaths = [
      ...inputs.initPaths,
      ...(inputs.app ? await appInitRequirements(ctx.rootfs, ctx.meta) : []),
    ];
    const { minimise } = inputs;
    if (!inputs.initScript) return void (await minimiseRoot(ctx, { minimise, initPaths }));
    // The repo's install functions copy whatever they like from the root at boot (VIC's copy
    // iptables and haveged; a Dockerfile repo's may copy its own files): trace them once.
    await copyIntoRoot(ctx.rootfs, inputs.initScript, INIT_SCRIPT_PATH, 0o644, ctx.sourceDateEpoch);
    await minimiseRoot(ctx, { minimise, initPaths, workloads: [INSTALL_FUNCTIONS_WORKLOAD] });
  },
});
