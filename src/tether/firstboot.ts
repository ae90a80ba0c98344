import { readFile } from 'node:fs/promises';
import { findInRoot } from '../rootfs/root-path.js';
import { linkInRoot, writeRootFile } from '../rootfs/write-in-root.js';

/**
 * First-boot configuration (docs/disk.md#first-boot): one POSIX sh script,
 * templates/firstboot/firstboot.sh, that applies hostname, network and root's SSH key from the
 * kernel command line or VMware guestinfo. The appliance's systemd starts it as a unit before the
 * network; the microVM init runs it itself.
 */

export const FIRSTBOOT_PATH = '/usr/lib/isobuild/firstboot';
export const FIRSTBOOT_TEMPLATE = new URL('../../templates/firstboot/firstboot.sh', import.meta.url).pathname;

const UNIT_PATH = '/etc/systemd/system/isobuild-firstboot.service';
/** Read by cloud-init when the root has it: only the sources a deployed appliance has (no probing of clouds). */
const CLOUD_INIT_CONFIG = '/etc/cloud/cloud.cfg.d/90-isobuild-datasources.cfg';

/**
 * Runs before the network and sshd, after the root is writable; ordered before systemd-hostnamed
 * so it reports the new name. At every boot: a key given again is applied again.
 */
export const FIRSTBOOT_UNIT = [
  '# Written by isobuild: hostname, network and SSH key from the kernel command line or guestinfo.',
  '[Unit]',
  'Description=isobuild first-boot configuration (hostname, network, SSH key)',
  'DefaultDependencies=no',
  'After=local-fs.target systemd-remount-fs.service',
  'Before=sysinit.target network-pre.target systemd-networkd.service ssh.service sshd.service systemd-hostnamed.service',
  'Wants=network-pre.target',
  '',
  '[Service]',
  'Type=oneshot',
  'RemainAfterExit=yes',
  `ExecStart=/bin/sh ${FIRSTBOOT_PATH}`,
  'StandardOutput=journal+console',
  '',
  '[Install]',
  'WantedBy=sysinit.target',
  '',
].join('\n');

export const CLOUD_INIT_DATASOURCES = [
  '# Written by isobuild: a cidata volume (NoCloud) or vSphere guestinfo (VMware); nothing else is probed.',
  'datasource_list: [NoCloud, VMware, None]',
  '',
].join('\n');

/** The script alone (a root whose own init runs it). */
export async function installFirstbootScript(root: string, epoch: number): Promise<void> {
  await writeRootFile(root, FIRSTBOOT_PATH, await readFile(FIRSTBOOT_TEMPLATE), 0o755, epoch);
}

/**
 * The script, its unit wanted by sysinit.target (a link, as systemctl enable makes: systemctl
 * does not run in the root), and cloud-init's datasource list when the root has cloud-init.
 * Returns what it wrote, for the stage's log.
 */
export async function installFirstbootService(root: string, epoch: number): Promise<string[]> {
  await installFirstbootScript(root, epoch);
  await writeRootFile(root, UNIT_PATH, FIRSTBOOT_UNIT, 0o644, epoch);
  await linkInRoot(
    root,
    '/etc/systemd/system/sysinit.target.wants/isobuild-firstboot.service',
    '../isobuild-firstboot.service',
    epoch,
  );
  const written = [FIRSTBOOT_PATH, UNIT_PATH];
  if (await findInRoot(root, '/usr/bin/cloud-init')) {
    await writeRootFile(root, CLOUD_INIT_CONFIG, CLOUD_INIT_DATASOURCES, 0o644, epoch);
    written.push(CLOUD_INIT_CONFIG);
  }
  return written;
}
