import { chmod } from 'node:fs/promises';
import { BuildError } from '../errors.js';
import type { StageContext } from '../stage/types.js';
import { installInitLayer } from '../tether/init-layer.js';
import { INIT_BIN_DIR, INIT_BUSYBOX } from '../tether/layout.js';
import { FIRSTBOOT_PATH, installFirstbootScript } from '../tether/firstboot.js';
import { quoteAlways } from '../exec/shell-quote.js';
import { findInRoot, hostPath } from '../rootfs/root-path.js';
import { mkdirInRoot, writeRootFile } from '../rootfs/write-in-root.js';
import { renderTemplate } from '../tether/render.js';
import { APP_SCRIPT, MICROVM_INIT, OVERLAY_DIR, ROM_DIR } from './layout.js';

/** The /app.sh the spec's `microvm.app` stands for: the command, exec'd so its status is the script's. */
export function appScript(argv: readonly string[]): string {
  return `#!/bin/sh\n# Written by isobuild from the spec's microvm.app.\nexec ${argv.map(quoteAlways).join(' ')}\n`;
}

/**
 * The microVM init layer (Celestial's contract, docs/microvm.md): a static busybox, the init
 * (templates/microvm/init.sh.hbs), the first-boot script it runs, the overlay's mount points, and /app.sh from the spec when
 * the root has none of its own.
 */
export async function writeMicrovmLayer(
  ctx: StageContext,
  app: readonly string[] | undefined,
  busybox?: string,
): Promise<void> {
  const epoch = ctx.sourceDateEpoch;
  // The same userland as the bootstrap init: the host's static busybox, whatever the root has.
  const layer = await installInitLayer(ctx.rootfs, epoch, 'tether', busybox);
  const init = await renderTemplate('microvm/init.sh.hbs', {
    busybox: INIT_BUSYBOX,
    initBin: INIT_BIN_DIR,
    firstboot: FIRSTBOOT_PATH,
    init: MICROVM_INIT,
    overlayDir: OVERLAY_DIR,
    romDir: ROM_DIR,
  });
  await writeRootFile(ctx.rootfs, MICROVM_INIT, init, 0o755, epoch);
  await installFirstbootScript(ctx.rootfs, epoch);
  // A squashfs root cannot grow mount points at boot: they are made now.
  for (const dir of [OVERLAY_DIR, ROM_DIR, '/proc', '/sys', '/dev', '/run', '/tmp'])
    if (!(await findInRoot(ctx.rootfs, dir))) {
      const made = await mkdirInRoot(ctx.rootfs, dir, epoch);
      if (dir === '/tmp') await chmod(hostPath(ctx.rootfs, made), 0o1777);
    }

  const hasApp = (await findInRoot(ctx.rootfs, APP_SCRIPT)) !== undefined;
  if (app && hasApp)
    throw new BuildError(
      `the spec's microvm.app and the root's own ${APP_SCRIPT} both name the application: keep one`,
      'tether',
    );
  if (app) await writeRootFile(ctx.rootfs, APP_SCRIPT, appScript(app), 0o755, epoch);
  ctx.logger.info(
    `tether: microVM init ${MICROVM_INIT} (${layer.busyboxVersion}); ` +
      (app
        ? `${APP_SCRIPT} from the spec`
        : hasApp
          ? `the root's ${APP_SCRIPT}`
          : `no ${APP_SCRIPT}: a shell at boot`),
  );
}
