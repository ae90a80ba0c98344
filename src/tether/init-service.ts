import { lstat, readFile } from 'node:fs/promises';
import { findInRoot, resolveInRoot } from '../rootfs/root-path.js';
import { linkInRoot, removeFromRoot, writeRootFile } from '../rootfs/write-in-root.js';
import type { InitMode } from './bootstrap-layer.js';
import { INIT_LAYER_DIR } from './layout.js';

/** Where the bootstrap init goes when the root's init system starts it as a service. */
export const BOOTSTRAP_SERVICE_PATH = `${INIT_LAYER_DIR}/bootstrap`;

/**
 * How a bootstrap's init runs the tether. A spec `init` naming systemd, or /sbin/init when the
 * root has one of its own (sysvinit, or a link to systemd), boots that init, which then starts
 * the bootstrap init as a service (VIC's tether.service / rc script); anything else is the path
 * isobuild writes its bootstrap init to, run as PID 1.
 */
export async function initModeOf(root: string, init: string): Promise<InitMode> {
  const resolved = await findInRoot(root, init);
  if (/(^|\/)systemd$/.test(init) || (resolved && /\/systemd$/.test(resolved))) return 'systemd';
  if (init === '/sbin/init' && resolved) {
    const st = await lstat(await resolveInRoot(root, init)).catch(() => undefined);
    if (st?.isFile()) return 'sysv';
  }
  return 'pid1';
}

const SYSTEMD_DIR = '/etc/systemd/system';

/**
 * VIC's systemd wiring: tether.service runs the bootstrap init with its output on the profile's
 * log port, vic.target wants it and is the default target. systemd-networkd is kept out of the
 * way (the tether manages links) as VIC's bootstrap.sh does.
 */
export async function wireSystemd(root: string, logDevice: string, epoch: number): Promise<string[]> {
  const tty = logDevice === '/dev/console' ? 'journal+console' : 'tty';
  const service = [
    '# Written by isobuild: starts the bootstrap init, which switches into the container and runs the tether.',
    '[Unit]',
    'Description=isobuild tether (VIC containerVM bootstrap)',
    'After=basic.target',
    '',
    '[Service]',
    'Type=idle',
    `ExecStart=${BOOTSTRAP_SERVICE_PATH}`,
    ...(tty === 'tty'
      ? [`TTYPath=${logDevice}`, 'StandardOutput=tty', 'StandardError=tty']
      : [`StandardOutput=${tty}`]),
    '',
    '[Install]',
    'WantedBy=vic.target',
    '',
  ].join('\n');
  const target = [
    '# Written by isobuild: the containerVM target (VIC).',
    '[Unit]',
    'Description=VIC containerVM',
    'Requires=basic.target',
    'After=basic.target',
    'AllowIsolate=yes',
    '',
  ].join('\n');
  await writeRootFile(root, `${SYSTEMD_DIR}/tether.service`, service, 0o644, epoch);
  await writeRootFile(root, `${SYSTEMD_DIR}/vic.target`, target, 0o644, epoch);
  await linkInRoot(root, `${SYSTEMD_DIR}/vic.target.wants/tether.service`, '../tether.service', epoch);
  await linkInRoot(root, `${SYSTEMD_DIR}/default.target`, 'vic.target', epoch);
  for (const unit of [
    'multi-user.target.wants/systemd-networkd.service',
    'sockets.target.wants/systemd-networkd.socket',
  ])
    await removeFromRoot(root, `${SYSTEMD_DIR}/${unit}`);
  // With /etc/initrd-release systemd would run the initrd targets and look for a /sysroot.
  await removeFromRoot(root, '/etc/initrd-release');
  return [
    `${SYSTEMD_DIR}/tether.service`,
    `${SYSTEMD_DIR}/vic.target`,
    `${SYSTEMD_DIR}/default.target -> vic.target`,
  ];
}

/**
 * VIC's SysV wiring: an rc script that starts the bootstrap init with its output on the
 * profile's log port, linked as S90tether in runlevel 1, and an inittab whose default runlevel
 * is 1 (networking off: the tether manages it) and which runs the script once.
 */
export async function wireSysv(root: string, logDevice: string, epoch: number): Promise<string[]> {
  const rcDir = (await findInRoot(root, '/etc/rc.d/init.d')) ? '/etc/rc.d' : '/etc';
  const script = [
    '#!/bin/sh',
    '# Written by isobuild: starts the bootstrap init, which runs the tether in the container.',
    '### BEGIN INIT INFO',
    '# Provides:          tether',
    '# Default-Start:     1 2 3 4 5',
    '# Default-Stop:      0 6',
    '# Short-Description: isobuild tether (VIC containerVM bootstrap)',
    '### END INIT INFO',
    'case "$1" in',
    `    start) ${BOOTSTRAP_SERVICE_PATH} <${logDevice} >${logDevice} 2>&1 & ;;`,
    '    *) echo "Usage: $0 start" ;;',
    'esac',
    'exit 0',
    '',
  ].join('\n');
  const rcScript = `${rcDir}/init.d/tether`;
  await writeRootFile(root, rcScript, script, 0o755, epoch);
  const inittab = await readFile(await resolveInRoot(root, '/etc/inittab'), 'utf8').catch(() => '');
  const lines = inittab.split('\n').filter((l) => l && !l.startsWith('tt:'));
  // The root's own multi-user runlevel stays (Debian's 1 is single-user: sulogin would wait
  // for a password); the tether starts once in every multi-user runlevel, after the rc scripts.
  const initdefault = lines.find((l) => /^[^#:]*:[^:]*:initdefault:/.test(l));
  const level = initdefault?.split(':')[1] ?? '';
  const kept = /^[2-5]$/.test(level) ? lines : lines.filter((l) => l !== initdefault);
  const added = [
    ...(kept === lines
      ? []
      : ['# isobuild: multi-user runlevel 2 (the root named none, or single-user).', 'id:2:initdefault:']),
    `tt:2345:once:${rcScript} start`,
  ];
  await writeRootFile(root, '/etc/inittab', [...kept, ...added, ''].join('\n'), 0o644, epoch);
  return [rcScript, `/etc/inittab (${added.filter((l) => !l.startsWith('#')).join(', ')})`];
}
