import { ARCHES } from '../spec/arch.js';
import { BuildError } from '../errors.js';
import type { BuildPlan } from '../stage/types.js';
import { findCommandInRoot, findInRoot } from '../rootfs/root-path.js';
import { INIT_LAYER_DIR, INIT_SCRIPT_PATH, TETHER_SOURCE_DIR } from './layout.js';

/** Whether an init path is systemd rather than isobuild's bootstrap init. */
export function bootsSystemd(init: string): boolean {
  return /(^|\/)systemd$/.test(init);
}

/** Whether an init is the distribution's own (systemd or SysV init), not isobuild's bootstrap init. */
export function bootsDistroInit(init: string): boolean {
  return bootsSystemd(init) || init === '/sbin/init';
}

/** Where systemd lives in every distribution VIC's repos cover. */
export const SYSTEMD_INIT = '/lib/systemd/systemd';

/**
 * The init the image boots. VIC: "Appliances always use /lib/systemd/systemd", whatever the
 * repo's `init` (which describes the bootstrap); bootstraps use the spec's.
 */
export function effectiveInit(plan: Pick<BuildPlan, 'flavour' | 'spec'>): string {
  if (bootsSystemd(plan.spec.init)) return plan.spec.init;
  return plan.flavour === 'appliance' ? SYSTEMD_INIT : plan.spec.init;
}

/**
 * What the init layer needs from the root at boot, so the minimise stage keeps it. Absolute
 * entries are paths inside the root (folders mean everything under them); bare names are commands
 * to look up on the root's PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin).
 * Libraries of the commands are the minimiser's to follow. The init itself runs on its own
 * busybox (INIT_LAYER_DIR); bash is needed only to run the repo's init.sh.
 */
export function initRequirements(plan: BuildPlan): string[] {
  if (plan.app) return [];
  const init = effectiveInit(plan);
  if (plan.flavour === 'appliance' && bootsSystemd(init)) return [init];
  return [
    ...(bootsDistroInit(init) ? [init] : []),
    INIT_LAYER_DIR,
    '/lib/modules',
    TETHER_SOURCE_DIR,
    ...(plan.spec.hooks.init
      ? [
          INIT_SCRIPT_PATH,
          'bash',
          // install-iptables and install-entropy (repo init.sh) copy these at boot on Debian-like roots.
          'haveged',
          'xtables-legacy-multi',
          `/usr/lib/${ARCHES[plan.spec.arch].multiarch}/xtables`,
          ARCHES[plan.spec.arch].rtld,
        ]
      : []),
  ];
}

/**
 * Checks the root has what the init needs from it: the systemd the spec names, or bash when a
 * repo init.sh is to run (everything else the init brings itself).
 */
export async function checkInitRequirements(root: string, init: string, hasRepoInit: boolean): Promise<void> {
  if (bootsSystemd(init)) {
    if (!(await findInRoot(root, init)))
      throw new BuildError(`the root has no ${init}, which the spec names as its init`, 'tether');
    return;
  }
  if (hasRepoInit && !(await findCommandInRoot(root, 'bash')))
    throw new BuildError(
      "the root has no bash, which runs the repo's init.sh (install-iptables, install-entropy): add bash to packages.base",
      'tether',
    );
}
