import { readdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { findCommandInRoot, findInRoot, resolveInRoot } from './root-path.js';
import { linkInRoot, removeFromRoot, writeRootFile } from './write-in-root.js';

/**
 * SSH host keys are a machine's secret: keys that openssh-server's postinst made at build time
 * would be shared by every VM booted from the image (and differ between two builds). They are
 * removed from the root, and a unit makes them at first boot, as mkosi's and Debian's cloud
 * images do (Fedora and Photon ship an sshd-keygen unit of their own for the same reason).
 */

export const SSH_KEYGEN_UNIT = 'isobuild-ssh-host-keys.service';
const UNIT_DIR = '/etc/systemd/system';
const KEY_NAME = /^ssh_host_.*_key(\.pub)?$/;
/** The key types `ssh-keygen -A` makes; one missing is reason enough to run it. */
const DEFAULT_KEYS = ['ecdsa', 'ed25519', 'rsa'].map((t) => `/etc/ssh/ssh_host_${t}_key`);
/** Where systemd may live; the root's /lib may be a link to usr/lib (merged /usr). */
const SYSTEMD_PATHS = ['/usr/lib/systemd/systemd', '/lib/systemd/systemd'];

export interface SshHostKeysResult {
  /** In-root paths of the key files removed. */
  removed: string[];
  /** Set when the boot-time unit was written (the root has sshd, ssh-keygen and systemd). */
  unit?: string;
  /** Set when the root has sshd but no systemd: something else must run `ssh-keygen -A`. */
  noSystemd?: boolean;
}

/** The unit: ordered before Debian's ssh.service (alias sshd.service) and Fedora's sshd.service. */
export function sshKeygenUnit(sshKeygen: string): string {
  return [
    '# Written by isobuild: the image ships no SSH host keys, so each machine makes its own.',
    '[Unit]',
    'Description=Generate SSH host keys',
    'Documentation=man:ssh-keygen(1)',
    ...DEFAULT_KEYS.map((key) => `ConditionPathExists=|!${key}`),
    'Before=ssh.service sshd.service',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${sshKeygen} -A`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/**
 * Removes /etc/ssh/ssh_host_*_key and their .pub files; when the root has sshd and systemd,
 * writes the unit that makes them at boot and enables it with a wants link made here (systemctl
 * may not run in the root). A root without sshd or ssh-keygen loses its keys and gets no unit.
 */
export async function moveSshHostKeysToBoot(root: string, epoch: number): Promise<SshHostKeysResult> {
  const sshDir = await resolveInRoot(root, '/etc/ssh');
  const removed: string[] = [];
  for (const name of (await readdir(sshDir).catch(() => [] as string[])).sort()) {
    if (!KEY_NAME.test(name)) continue;
    await removeFromRoot(root, `/etc/ssh/${name}`);
    removed.push(`/etc/ssh/${name}`);
  }
  const sshd = await findCommandInRoot(root, 'sshd');
  const sshKeygen = await findCommandInRoot(root, 'ssh-keygen');
  if (!sshd || !sshKeygen) return { removed };
  let systemd = false;
  for (const path of SYSTEMD_PATHS) if (await findInRoot(root, path)) systemd = true;
  if (!systemd) return { removed, noSystemd: true };
  const unit = posix.join(UNIT_DIR, SSH_KEYGEN_UNIT);
  await writeRootFile(root, unit, sshKeygenUnit(sshKeygen), 0o644, epoch);
  await linkInRoot(
    root,
    `${UNIT_DIR}/multi-user.target.wants/${SSH_KEYGEN_UNIT}`,
    `../${SSH_KEYGEN_UNIT}`,
    epoch,
  );
  return { removed, unit };
}
