import type { BootProfileName, ResolvedSpec } from '../spec/types.js';
import { VERSION } from '../version.js';

/**
 * A boot contract: what the kernel is told, where the image logs, what the ISO holds and how
 * the tether tmpfs is laid out. `isobuild` is this project's; `vic` is VIC's containerVM
 * contract (isos/bootstrap/targets/linux/isolinux/isolinux.cfg, isos/base/xorriso-options.cfg),
 * so vic-machine and VIC's tether find what they expect.
 */
export interface BootProfile {
  /** The kernel command line before the spec's `cmdline`. */
  cmdline: readonly string[];
  /** The serial port (ttyS<N>) the init and the tether log on: where `boot` and `run` read. */
  logSerial: number;
  /** Where the init and the tether send their output. */
  logDevice: string;
  /** Paths of the kernel and the initrd in the ISO. */
  isoKernel: string;
  isoInitrd: string;
  /** isolinux's boot.msg (shown at the boot prompt), if the profile has one. */
  bootMsg?: string;
  publisher(version: string): string;
  /** Keep the publisher's case in the PVD (xorriso upper-cases it): vic-machine compares it as is. */
  verbatimPublisher: boolean;
  /** The tether's path inside /.tether, and the extra names VIC's tooling runs (links to it). */
  tether: { bin: string; aliases: readonly string[] };
}

export const BOOT_PROFILES: Readonly<Record<BootProfileName, BootProfile>> = {
  isobuild: {
    // The last console= gets /dev/console; panic=-1 reboots at once, which -no-reboot makes an exit.
    // cryptomgr.notests: the crypto self-tests cost ~0.5 s of a TCG boot before /init (the
    // kernel's switch for short-lived VMs; fips=1 runs them regardless).
    cmdline: ['console=tty0', 'console=ttyS0,115200', 'panic=-1', 'cryptomgr.notests'],
    logSerial: 0,
    logDevice: '/dev/console',
    isoKernel: 'boot/vmlinuz',
    isoInitrd: 'boot/initrd.img',
    publisher: (version) => `ISOBUILD ${version}`.toUpperCase(),
    verbatimPublisher: false,
    tether: { bin: 'bin/tether', aliases: [] },
  },
  vic: {
    // ttyS0 is the tether's attach channel, ttyS1 the log; tty0 last, so /dev/console is the screen.
    cmdline: [
      'loglevel=3',
      'console=ttyS1,115200n8',
      'console=tty0',
      'nodhcp',
      'rcupdate.rcu_expedited=1',
      'quiet',
      'noreplace-smp',
      'cpu_init_udelay=0',
      'vsyscall=emulate',
    ],
    logSerial: 1,
    logDevice: '/dev/ttyS1',
    isoKernel: 'boot/vmlinuz64',
    isoInitrd: 'boot/core.gz',
    bootMsg: 'VMware vSphere Integrated Containers containerVM\n',
    publisher: (version) => `VMware Inc. ${version}`,
    verbatimPublisher: true,
    tether: { bin: 'tether', aliases: ['unpack', 'tether-debug'] },
  },
};

export function bootProfile(spec: Pick<ResolvedSpec, 'profile'>): BootProfile {
  return BOOT_PROFILES[spec.profile];
}

/**
 * A profile as the keys of the stages that read it hold it: every field, functions as their
 * source, so editing a profile rebuilds those stages without a version bump.
 */
export function profileContent(name: BootProfileName): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(BOOT_PROFILES[name]).map(([k, v]) => [k, typeof v === 'function' ? String(v) : v]),
  );
}

/** The image's version: the spec's, else $BUILD_NUMBER (VIC's CI names builds so), else isobuild's. */
export function imageVersion(
  spec: Pick<ResolvedSpec, 'version'>,
  env: Record<string, string | undefined> = process.env,
): string {
  return spec.version ?? (env.BUILD_NUMBER?.trim() || VERSION);
}

/** The serial port an image logs on, from its kernel command line: the last console=ttyS<N> (ttyAMA<N> on arm). */
export function logSerialOf(cmdline: string): number {
  let port = 0;
  for (const m of cmdline.matchAll(/(?:^|\s)console=tty(?:S|AMA)(\d+)/g)) port = Number(m[1]);
  return port;
}
