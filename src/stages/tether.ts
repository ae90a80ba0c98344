import { hooksSandboxed } from '../hooks/run-hook.js';
import { bootProfile } from '../image/profile.js';
import { writeAppLayer } from '../app/layer.js';
import { writeMicrovmLayer } from '../microvm/layer.js';
import type { BuildPlan, Stage, StageContext } from '../pipeline/types.js';
import {
  installRepoInit,
  installTether,
  kernelVersionOf,
  linkInit,
  sizeTether,
  writeBootstrapInit,
} from '../tether/bootstrap-layer.js';
import { removeFromRoot } from '../rootfs/write-in-root.js';
import { installInitLayer, readBusyboxVersion } from '../tether/init-layer.js';
import { BOOTSTRAP_SERVICE_PATH, initModeOf, wireSystemd, wireSysv } from '../tether/init-service.js';
import { INIT_BUSYBOX, INIT_SCRIPT_PATH, TETHER_SOURCE_DIR } from '../tether/layout.js';
import { bootsSystemd, checkInitRequirements, effectiveInit } from '../tether/requirements.js';
import { HOST_BUSYBOX } from '../exec/host-tools.js';

/** An appliance boots systemd with no tether; a bootstrap always has one (as PID 1 or a service). */
function bootsSystemdOnly(plan: BuildPlan): boolean {
  return plan.flavour === 'appliance' && bootsSystemd(effectiveInit(plan));
}

async function runTether(ctx: StageContext): Promise<void> {
  // The app appliance (seed 000) brings its own init layer.
  if (ctx.plan.app) return writeAppLayer(ctx);
  // A root that boots from a disk (Firecracker, Celestial) runs the microVM init instead.
  if (ctx.plan.microvm) return writeMicrovmLayer(ctx);

  const init = effectiveInit(ctx.plan);
  await checkInitRequirements(ctx.rootfs, init, Boolean(ctx.spec.hooks.init));
  // A bootstrap that boots the root's own init (systemd, SysV) starts the tether as its service.
  const mode = ctx.plan.flavour === 'appliance' ? 'pid1' : await initModeOf(ctx.rootfs, init);
  if (mode === 'pid1' && bootsSystemd(init)) {
    await linkInit(ctx, init);
    // With /etc/initrd-release (iso-base adds it, as VIC's base.sh does) systemd runs the initrd
    // targets and then fails to switch to a /sysroot that does not exist: the initrd is the system.
    const dropped = await removeFromRoot(ctx.rootfs, '/etc/initrd-release');
    ctx.logger.info(
      `tether: /init -> ${init} (systemd boots to its default target; no tether)` +
        (dropped ? '; removed /etc/initrd-release so systemd boots the initrd as the system' : ''),
    );
    return;
  }

  const kernelVersion = await kernelVersionOf(ctx);
  const initLayer = await installInitLayer(ctx.rootfs, ctx.plan.options.sourceDateEpoch, ctx.stage);
  ctx.meta.initBusybox = initLayer.busyboxVersion;
  const hasRepoInit = await installRepoInit(ctx);
  const shipped = await installTether(ctx);
  const sizing = await sizeTether(ctx, kernelVersion, hasRepoInit);
  await writeBootstrapInit(ctx, {
    kernelVersion,
    drivers: ctx.meta.drivers ?? [],
    sizeMiB: sizing.sizeMiB,
    hasRepoInit,
    mode,
    path: mode === 'pid1' ? ctx.spec.init : BOOTSTRAP_SERVICE_PATH,
  });
  await linkInit(ctx, init);
  if (mode !== 'pid1') {
    const epoch = ctx.plan.options.sourceDateEpoch;
    const logDevice = bootProfile(ctx.spec).logDevice;
    const wired =
      mode === 'systemd'
        ? await wireSystemd(ctx.rootfs, logDevice, epoch)
        : await wireSysv(ctx.rootfs, logDevice, epoch);
    ctx.logger.info(
      `tether: /init -> ${init} (${mode}), which starts ${BOOTSTRAP_SERVICE_PATH}: ${wired.join(', ')}`,
    );
  }
  ctx.meta.tetherSizeMiB = sizing.sizeMiB;
  ctx.logger.info(
    `tether: ${mode === 'pid1' ? ctx.spec.init : BOOTSTRAP_SERVICE_PATH} (bootstrap init, ${ctx.meta.drivers?.length ?? 0} drivers), tether: ${shipped.tether}; ` +
      `init layer: ${initLayer.busyboxVersion} (${initLayer.applets} applets) at ${INIT_BUSYBOX}; ` +
      (hasRepoInit ? `init.sh runs ${sizing.installFunctions.join(', ') || 'no install function'}; ` : '') +
      `/.tether tmpfs ${sizing.sizeMiB} MiB for ${(sizing.contentBytes / 1024 / 1024).toFixed(1)} MiB of contents`,
  );
}

export const tetherStage: Stage = {
  name: 'tether',
  version: 6,
  mutatesRoot: true,
  applies: () => true,
  tools: (plan) =>
    plan.microvm
      ? [{ tool: HOST_BUSYBOX, reason: "the microVM init's own userland (a static busybox)" }]
      : plan.app || bootsSystemdOnly(plan)
        ? []
        : [
            {
              tool: 'bwrap',
              reason: "run the repo's install-iptables/install-entropy to size the tether tmpfs",
            },
            { tool: HOST_BUSYBOX, reason: "the init layer's own userland (a static busybox)" },
          ],
  cacheInputs: async (plan: BuildPlan) => ({
    values: {
      init: effectiveInit(plan),
      app: plan.app,
      microvm: Boolean(plan.microvm),
      microvmApp: plan.microvm ? (plan.spec.microvm.app ?? null) : null,
      tether: plan.options.tether ?? plan.spec.tether ?? null,
      profile: plan.spec.profile,
      // install-iptables/install-entropy run confined unless hooks.sandbox is false (only then
      // a value, so the default keeps its keys).
      ...(plan.spec.hooks.init && !hooksSandboxed(plan.spec) ? { hooksSandbox: false } : {}),
    },
    files: [
      new URL('../../templates/init/', import.meta.url).pathname,
      new URL('../../templates/tether/', import.meta.url).pathname,
      new URL('../../templates/microvm/', import.meta.url).pathname,
      ...(plan.spec.hooks.init ? [plan.spec.hooks.init] : []),
      ...(plan.options.tether ? [plan.options.tether] : plan.spec.tether ? [plan.spec.tether] : []),
      // The host's busybox goes into the image when the root has no static one.
      ...(plan.app || (!plan.microvm && bootsSystemdOnly(plan)) ? [] : [HOST_BUSYBOX]),
    ],
    toolVersions: plan.app || (!plan.microvm && bootsSystemdOnly(plan)) ? [] : [await readBusyboxVersion()],
  }),
  describe: (plan) =>
    plan.microvm
      ? [
          'install a static busybox and templates/microvm/init.sh.hbs into <root>/usr/lib/isobuild/microvm/',
          ...(plan.spec.microvm.app ? [`write <root>/app.sh: exec ${plan.spec.microvm.app.join(' ')}`] : []),
        ]
      : plan.app
        ? ['write the app layer (src/app/layer.ts)']
        : bootsSystemdOnly(plan)
          ? [`ln -s ${effectiveInit(plan)} <root>/init`, 'rm -f <root>/etc/initrd-release']
          : [
              `cp ${plan.spec.hooks.init ?? '(no init.sh)'} <root>${INIT_SCRIPT_PATH}`,
              `cp ${HOST_BUSYBOX} <root>${INIT_BUSYBOX}; link its applets beside it  # the init layer's userland`,
              `install ${plan.options.tether ?? plan.spec.tether ?? 'the default tether'} into <root>${TETHER_SOURCE_DIR}/${bootProfile(plan.spec).tether.bin}`,
              'bwrap --bind <root> / --dev /dev --proc /proc bash -c ". init.sh; install-iptables DIR"  # and install-entropy: sizes the /.tether tmpfs',
              bootsSystemd(plan.spec.init) || plan.spec.init === '/sbin/init'
                ? `render templates/init/bootstrap.sh.hbs to <root>${BOOTSTRAP_SERVICE_PATH}; start it from the root's init (systemd: tether.service + vic.target; SysV: rc script + inittab)`
                : `render templates/init/bootstrap.sh.hbs to <root>${plan.spec.init}`,
              `ln -s ${plan.spec.init} <root>/init`,
            ],
  run: runTether,
};
