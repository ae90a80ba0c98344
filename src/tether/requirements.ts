import { BuildError } from '../errors.js';
import type { BuildPlan } from '../pipeline/types.js';
import { findCommandInRoot, findInRoot } from '../rootfs/root-path.js';
import { INIT_SCRIPT_PATH, TETHER_SOURCE_DIR } from './layout.js';

/** Commands the bootstrap init runs (templates/init/bootstrap.sh.hbs), each with why. */
export const INIT_COMMANDS: Readonly<Record<string, string>> = {
  bash: 'runs the init and sources the repo init.sh',
  mount: 'mounts proc, sys, dev, the containerfs disk and the tether tmpfs',
  modprobe: 'loads the drivers',
  blkid: 'finds the disk labelled containerfs',
  switch_root: 'switches into the container filesystem',
  chroot: "sets the firewall with the tether's iptables-wrapper",
  mkdir: 'makes mount points',
  cp: 'copies the tether and modules into the tether tmpfs',
  ln: 'links /.tether/lib to lib64',
  sleep: 'waits for the containerfs disk',
};

/**
 * Commands the init layer uses when they are there (debug shell, failure reports) or that Debian's
 * init.sh functions run at boot: kept by the minimiser, not required by the build.
 */
export const OPTIONAL_INIT_COMMANDS = ['cat', 'chmod', 'dmesg', 'tail', 'setsid', 'sync'] as const;

/** Whether an init path is systemd rather than isobuild's bootstrap init. */
export function bootsSystemd(init: string): boolean {
  return /(^|\/)systemd$/.test(init);
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
 * Libraries of the commands are the minimiser's to follow.
 */
export function initRequirements(plan: BuildPlan): string[] {
  if (plan.app) return [];
  const init = effectiveInit(plan);
  if (bootsSystemd(init)) return [init];
  return [
    ...Object.keys(INIT_COMMANDS),
    ...OPTIONAL_INIT_COMMANDS,
    '/lib/modules',
    '/etc/isobuild',
    TETHER_SOURCE_DIR,
    INIT_SCRIPT_PATH,
    // install-iptables and install-entropy (repo init.sh) copy these at boot on Debian-like roots.
    'haveged',
    'xtables-legacy-multi',
    '/usr/lib/x86_64-linux-gnu/xtables',
    '/lib64/ld-linux-x86-64.so.2',
  ];
}

/** Checks the root has every command the bootstrap init runs; names all that are missing. */
export async function checkInitRequirements(root: string, init: string): Promise<void> {
  if (bootsSystemd(init)) {
    if (!(await findInRoot(root, init)))
      throw new BuildError(`the root has no ${init}, which the spec names as its init`, 'tether');
    return;
  }
  const missing: string[] = [];
  for (const [command, why] of Object.entries(INIT_COMMANDS))
    if (!(await findCommandInRoot(root, command))) missing.push(`  ${command} (${why})`);
  if (missing.length)
    throw new BuildError(
      `the root lacks commands the bootstrap init needs; add the packages that provide them:\n${missing.join('\n')}`,
      'tether',
    );
}
