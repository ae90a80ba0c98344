import { readdir } from 'node:fs/promises';
import { BuildError } from '../errors.js';
import { run } from '../exec/run.js';
import { readToolVersion } from '../exec/tool-version.js';
import { HOST_BUSYBOX, type DeclaredTool } from '../exec/host-tools.js';
import { isStaticElf } from '../fs/elf.js';
import { copyIntoRoot, linkInRoot } from '../rootfs/write-in-root.js';
import { INIT_BIN_DIR, INIT_BUSYBOX } from './layout.js';

/**
 * Applets the bootstrap init (templates/init/bootstrap.sh.hbs) runs, each with why. The init
 * finds them in its own bin folder first, so a root without them (or with other versions of
 * them) boots the same.
 */
export const INIT_APPLETS: Readonly<Record<string, string>> = {
  sh: 'runs the init',
  mount: 'mounts proc, sys, dev, the containerfs disk and the tether tmpfs',
  umount: 'unbinds the tether after the firewall is set',
  modprobe: 'loads the drivers',
  findfs: 'finds the disk labelled containerfs',
  dd: 'reads an ext4 label when findfs does not report it',
  od: 'reads an ext4 superblock magic',
  tr: 'strips the label padding',
  switch_root: 'switches into the container filesystem',
  chroot: "runs VIC's iptables-wrapper (chroot /.tether)",
  mkdir: 'makes mount points',
  cp: 'copies the tether and modules into the tether tmpfs',
  ln: 'lays out /.tether/lib -> lib64',
  sleep: 'waits for the containerfs disk',
  cat: 'reads /proc/cmdline',
  tail: 'shows the kernel log on failure',
  dmesg: 'shows the kernel log on failure',
  setsid: 'opens the debug shell on the console',
  sync: 'flushes before power off',
};

/**
 * The host's static busybox as the stages that copy it declare it: its content and its version
 * (the first line of --help) are keyed.
 */
export const BUSYBOX_COMMAND = {
  tool: HOST_BUSYBOX,
  reason: 'a static busybox for the image',
  version: ['--help'],
} as const satisfies DeclaredTool;

/** `BusyBox v1.35.0 (Debian ...)`: its first line, for the build's record. */
export async function readBusyboxVersion(busybox: string = HOST_BUSYBOX): Promise<string> {
  const line = await readToolVersion(busybox, BUSYBOX_COMMAND.version);
  return line.slice(`${busybox}: `.length).replace(/ multi-call binary\.?$/, '');
}

export interface InitLayer {
  busyboxVersion: string;
  applets: number;
}

/**
 * Puts a static busybox (the host's, or the target's for another architecture: targetBusybox)
 * at INIT_BUSYBOX with a link for each of its applets beside it: the init's whole userland, and
 * the fallback for the repo's install functions where the root has no coreutils. A busybox that
 * is not static or lacks an applet the init runs is refused here.
 */
export async function installInitLayer(
  root: string,
  epoch: number,
  stage: string,
  busybox: string = HOST_BUSYBOX,
): Promise<InitLayer> {
  if (!(await isStaticElf(busybox).catch(() => false)))
    throw new BuildError(
      `${busybox} is not a static busybox, and the init layer runs in roots of any libc: apt-get install busybox-static`,
      stage,
    );
  // Another architecture's busybox answers through qemu-user (binfmt_misc).
  const applets = (await run(busybox, ['--list'])).stdout
    .split('\n')
    .map((a) => a.trim())
    .filter((a) => a && a !== 'busybox');
  const missing = Object.keys(INIT_APPLETS).filter((a) => !applets.includes(a));
  if (missing.length)
    throw new BuildError(
      `${busybox} lacks applets the init runs: ${missing.map((a) => `${a} (${INIT_APPLETS[a]})`).join(', ')}`,
      stage,
    );
  await copyIntoRoot(root, busybox, INIT_BUSYBOX, 0o755, epoch);
  for (const applet of applets.sort()) await linkInRoot(root, `${INIT_BIN_DIR}/${applet}`, 'busybox', epoch);
  return { busyboxVersion: await readBusyboxVersion(busybox), applets: applets.length };
}

/** The applet links of an installed init layer (for tests and the minimiser's report). */
export async function listInitApplets(root: string): Promise<string[]> {
  return (await readdir(root + INIT_BIN_DIR)).filter((n) => n !== 'busybox').sort();
}

/**
 * A shell function printing the label of the ext4 file system on $1, read from its superblock
 * (magic 0xEF53 at byte 1080, the 16-byte volume name at 1144): for when no tool reports labels
 * (busybox builds without findfs, toybox's blkid without -p). Only dd, od and tr are used.
 */
export const READ_EXT4_LABEL_FN = `read_ext4_label () {
    [ "$(dd if="$1" bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1 | tr -d ' \\n')" = 53ef ] || return 1
    dd if="$1" bs=1 skip=1144 count=16 2>/dev/null | tr -d '\\000'
}`;
