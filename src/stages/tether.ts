import { bootProfile, profileContent } from '../image/profile.js';
import { appInputsOf, appSourceFiles, writeAppLayer, type AppInputs } from '../app/layer.js';
import { writeMicrovmLayer } from '../microvm/layer.js';
import { defineStage, type BuildPlan, type StageContext } from '../stage/types.js';
import {
  installRepoInit,
  installTether,
  kernelVersionOf,
  linkInit,
  sizeTether,
  writeBootstrapInit,
  type BootstrapLayerInputs,
} from '../tether/bootstrap-layer.js';
import { hooksNetwork, hooksSandboxed } from '../hooks/run-hook.js';
import { removeFromRoot } from '../rootfs/write-in-root.js';
import { BUSYBOX_COMMAND, installInitLayer } from '../tether/init-layer.js';
import { BOOTSTRAP_SERVICE_PATH, initModeOf, wireSystemd, wireSysv } from '../tether/init-service.js';
import { INIT_BUSYBOX, INIT_SCRIPT_PATH, TETHER_SOURCE_DIR } from '../tether/layout.js';
import {
  bootsDistroInit,
  bootsSystemd,
  checkInitRequirements,
  effectiveInit,
} from '../tether/requirements.js';
import { HOST_BUSYBOX, type DeclaredTool } from '../exec/host-tools.js';
import { FIRSTBOOT_PATH, installFirstbootService } from '../tether/firstboot.js';
import { pmSpecOf } from '../pm/pm-context.js';
import type { PmSpec } from '../pm/types.js';
import { DEFAULT_ARCH } from '../spec/arch.js';
import { TARGET_PACKAGE_COMMANDS, targetBusybox } from './target-packages.js';

const TEMPLATE_DIRS = ['init', 'tether', 'microvm', 'firstboot'].map(
  (d) => new URL(`../../templates/${d}/`, import.meta.url).pathname,
);

/**
 * The tether stage writes one of four layers, each with what it reads: the app init, the
 * microVM init, a link to systemd (an appliance boots systemd with no tether), or the bootstrap
 * init with the tether (as PID 1, or as a service of the root's own init).
 */
type TetherInputs =
  | { readonly layer: 'app'; readonly app: AppInputs }
  | { readonly layer: 'microvm'; readonly app?: readonly string[]; readonly cross?: PmSpec }
  | { readonly layer: 'systemd'; readonly init: string }
  | {
      readonly layer: 'bootstrap';
      /** The init the image boots (the bootstrap init, or the root's systemd/SysV init that starts it). */
      readonly init: string;
      /** Appliances boot their init as PID 1; a bootstrap asks the root which init it has. */
      readonly appliance: boolean;
      readonly bootstrap: BootstrapLayerInputs;
      /** Another architecture's build: its busybox comes from the repo's packages (targetBusybox). */
      readonly cross?: PmSpec;
    };

function tetherInputs(plan: BuildPlan): TetherInputs {
  const { spec } = plan;
  const cross = spec.arch === DEFAULT_ARCH ? {} : { cross: pmSpecOf(spec) };
  // The app appliance (seed 000) brings its own init layer.
  if (plan.app) return { layer: 'app', app: appInputsOf(spec) };
  // A root that boots from a disk (Firecracker, Celestial) runs the microVM init instead.
  if (plan.microvm)
    return { layer: 'microvm', ...(spec.microvm.app ? { app: spec.microvm.app } : {}), ...cross };
  const init = effectiveInit(plan);
  if (plan.flavour === 'appliance' && bootsSystemd(init)) return { layer: 'systemd', init };
  const tether = plan.options.tether ?? spec.tether;
  return {
    layer: 'bootstrap',
    init,
    appliance: plan.flavour === 'appliance',
    bootstrap: {
      ...(spec.hooks.init ? { repoInit: spec.hooks.init } : {}),
      ...(tether ? { tether } : {}),
      profile: spec.profile,
      init: spec.init,
      sandboxed: hooksSandboxed(spec),
      network: hooksNetwork(spec),
    },
    ...cross,
  };
}

async function runTether(ctx: StageContext, inputs: TetherInputs): Promise<void> {
  switch (inputs.layer) {
    case 'app':
      return writeAppLayer(ctx, inputs.app);
    case 'microvm':
      return writeMicrovmLayer(ctx, inputs.app, await busyboxOf(ctx, inputs.cross));
    case 'systemd':
      return linkSystemd(ctx, inputs.init);
    case 'bootstrap':
      return writeBootstrapLayer(ctx, inputs);
  }
}

/** The init layer's busybox: the host's, or for another architecture the target's own. */
function busyboxOf(ctx: StageContext, cross: PmSpec | undefined): Promise<string> {
  return cross ? targetBusybox(ctx, cross) : Promise.resolve(HOST_BUSYBOX);
}

async function linkSystemd(ctx: StageContext, init: string): Promise<void> {
  await checkInitRequirements(ctx.rootfs, init, false);
  await linkInit(ctx, init);
  // With /etc/initrd-release (iso-base adds it, as VIC's base.sh does) systemd runs the initrd
  // targets and then fails to switch to a /sysroot that does not exist: the initrd is the system.
  const dropped = await removeFromRoot(ctx.rootfs, '/etc/initrd-release');
  const firstboot = await installFirstbootService(ctx.rootfs, ctx.sourceDateEpoch);
  ctx.logger.info(
    `tether: /init -> ${init} (systemd boots to its default target; no tether)` +
      (dropped ? '; removed /etc/initrd-release so systemd boots the initrd as the system' : '') +
      `; first-boot configuration: ${firstboot.join(', ')}`,
  );
}

async function writeBootstrapLayer(
  ctx: StageContext,
  inputs: Extract<TetherInputs, { layer: 'bootstrap' }>,
): Promise<void> {
  const { init, bootstrap: layer } = inputs;
  await checkInitRequirements(ctx.rootfs, init, Boolean(layer.repoInit));
  // A bootstrap that boots the root's own init (systemd, SysV) starts the tether as its service.
  const mode = inputs.appliance ? 'pid1' : await initModeOf(ctx.rootfs, init);
  if (mode === 'pid1' && bootsSystemd(init)) return linkSystemd(ctx, init);

  const kernelVersion = await kernelVersionOf(ctx);
  const initLayer = await installInitLayer(
    ctx.rootfs,
    ctx.sourceDateEpoch,
    ctx.stage,
    await busyboxOf(ctx, inputs.cross),
  );
  ctx.meta.initBusybox = initLayer.busyboxVersion;
  const hasRepoInit = await installRepoInit(ctx, layer);
  const shipped = await installTether(ctx, layer);
  const sizing = await sizeTether(ctx, layer, kernelVersion);
  const initPath = mode === 'pid1' ? layer.init : BOOTSTRAP_SERVICE_PATH;
  await writeBootstrapInit(ctx, layer, {
    kernelVersion,
    drivers: ctx.meta.drivers ?? [],
    sizeMiB: sizing.sizeMiB,
    hasRepoInit,
    mode,
    path: initPath,
  });
  await linkInit(ctx, init);
  if (mode !== 'pid1') {
    const logDevice = bootProfile(layer).logDevice;
    const wired =
      mode === 'systemd'
        ? await wireSystemd(ctx.rootfs, logDevice, ctx.sourceDateEpoch)
        : await wireSysv(ctx.rootfs, logDevice, ctx.sourceDateEpoch);
    ctx.logger.info(
      `tether: /init -> ${init} (${mode}), which starts ${BOOTSTRAP_SERVICE_PATH}: ${wired.join(', ')}`,
    );
  }
  ctx.meta.tetherSizeMiB = sizing.sizeMiB;
  ctx.logger.info(
    `tether: ${initPath} (bootstrap init, ${ctx.meta.drivers?.length ?? 0} drivers), tether: ${shipped.tether}; ` +
      `init layer: ${initLayer.busyboxVersion} (${initLayer.applets} applets) at ${INIT_BUSYBOX}; ` +
      (hasRepoInit ? `init.sh runs ${sizing.installFunctions.join(', ') || 'no install function'}; ` : '') +
      `/.tether tmpfs ${sizing.sizeMiB} MiB for ${(sizing.contentBytes / 1024 / 1024).toFixed(1)} MiB of contents`,
  );
}

export const tetherStage = defineStage<TetherInputs>({
  name: 'tether',
  // 7: the install functions' build-time output kept for the init (tether-installs).
  // 8: the first-boot script (systemd unit, microVM init). Templates, the profile and the host's
  // busybox are keyed by content: no bump for those.
  version: 8,
  mutatesRoot: true,
  applies: () => true,
  inputs: tetherInputs,
  sources: async (inputs) => ({
    files: [
      ...TEMPLATE_DIRS,
      ...(inputs.layer === 'app' ? appSourceFiles(inputs.app) : []),
      ...(inputs.layer === 'bootstrap' && inputs.bootstrap.repoInit ? [inputs.bootstrap.repoInit] : []),
      ...(inputs.layer === 'bootstrap' && inputs.bootstrap.tether ? [inputs.bootstrap.tether] : []),
    ],
    ...(inputs.layer === 'bootstrap' ? { facts: { profile: profileContent(inputs.bootstrap.profile) } } : {}),
  }),
  commands: (inputs): DeclaredTool[] => [
    ...('cross' in inputs && inputs.cross ? TARGET_PACKAGE_COMMANDS : []),
    ...(inputs.layer === 'microvm'
      ? [{ ...BUSYBOX_COMMAND, reason: "the microVM init's own userland (a static busybox)" }]
      : inputs.layer === 'bootstrap'
        ? [
            {
              tool: 'bwrap' as const,
              reason: "run the repo's install-iptables/install-entropy to size the tether tmpfs",
              version: 'none' as const,
            },
            { ...BUSYBOX_COMMAND, reason: "the init layer's own userland (a static busybox)" },
          ]
        : []),
  ],
  describe: (inputs) => {
    switch (inputs.layer) {
      case 'microvm':
        return [
          'install a static busybox and templates/microvm/init.sh.hbs into <root>/usr/lib/isobuild/microvm/',
          `cp templates/firstboot/firstboot.sh <root>${FIRSTBOOT_PATH}  # the init runs it`,
          ...(inputs.app ? [`write <root>/app.sh: exec ${inputs.app.join(' ')}`] : []),
        ];
      case 'app':
        return ['write the app layer (src/app/layer.ts)'];
      case 'systemd':
        return [
          `ln -s ${inputs.init} <root>/init`,
          'rm -f <root>/etc/initrd-release',
          `cp templates/firstboot/firstboot.sh <root>${FIRSTBOOT_PATH}; write isobuild-firstboot.service, wanted by sysinit.target`,
        ];
      case 'bootstrap': {
        const layer = inputs.bootstrap;
        return [
          `cp ${layer.repoInit ?? '(no init.sh)'} <root>${INIT_SCRIPT_PATH}`,
          `cp ${HOST_BUSYBOX} <root>${INIT_BUSYBOX}; link its applets beside it  # the init layer's userland`,
          `install ${layer.tether ?? 'the default tether'} into <root>${TETHER_SOURCE_DIR}/${bootProfile(layer).tether.bin}`,
          `bwrap --bind <root> / --dev /dev --proc /proc${layer.sandboxed ? ` <the hook sandbox${layer.network ? ', with the network' : ''}>` : ''} bash -c ". init.sh; install-iptables DIR"  # and install-entropy: sizes the /.tether tmpfs`,
          bootsDistroInit(layer.init)
            ? `render templates/init/bootstrap.sh.hbs to <root>${BOOTSTRAP_SERVICE_PATH}; start it from the root's init (systemd: tether.service + vic.target; SysV: rc script + inittab)`
            : `render templates/init/bootstrap.sh.hbs to <root>${layer.init}`,
          `ln -s ${layer.init} <root>/init`,
        ];
      }
    }
  },
  run: runTether,
});
