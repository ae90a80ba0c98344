import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import type { Logger } from '../../../src/log/logger.js';
import { aptPackageManager } from '../../../src/pm/apt.js';
import type { PmContext } from '../../../src/pm/types.js';
import { moveSshHostKeysToBoot, SSH_KEYGEN_UNIT } from '../../../src/rootfs/ssh-host-keys.js';

const EPOCH = 1_700_000_000;
const KEYS = ['ecdsa', 'ed25519', 'rsa'].flatMap((t) => [`ssh_host_${t}_key`, `ssh_host_${t}_key.pub`]);
const UNIT = `etc/systemd/system/${SSH_KEYGEN_UNIT}`;
const WANTS = `etc/systemd/system/multi-user.target.wants/${SSH_KEYGEN_UNIT}`;

let tmp: DirectoryResult;
let root: string;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  root = join(tmp.path, 'root');
  // A merged-/usr Debian root as openssh-server's postinst leaves it: six keys beside the config.
  await mkdir(join(root, 'usr/lib/systemd'), { recursive: true });
  await symlink('usr/lib', join(root, 'lib'));
  await mkdir(join(root, 'etc/ssh'), { recursive: true });
  for (const name of [...KEYS, 'sshd_config', 'moduli']) await writeFile(join(root, 'etc/ssh', name), name);
});
afterEach(() => tmp.cleanup());

async function addExecutable(path: string): Promise<void> {
  await mkdir(join(root, path, '..'), { recursive: true });
  await writeFile(join(root, path), '#!/bin/sh\n');
  await chmod(join(root, path), 0o755);
}

async function addSshd(): Promise<void> {
  await addExecutable('usr/sbin/sshd');
  await addExecutable('usr/bin/ssh-keygen');
}

function recordingLogger(lines: string[]): Logger {
  const log = (msg: string) => void lines.push(msg);
  return {
    info: log,
    warn: (msg: string) => void lines.push(`warn: ${msg}`),
    debug: log,
  } as unknown as Logger;
}

test("apt's clean removes the build's SSH host keys and enables a unit that makes them at boot", async () => {
  await addSshd();
  await addExecutable('usr/lib/systemd/systemd');
  const lines: string[] = [];
  const ctx = {
    rootfs: root,
    sourceDateEpoch: EPOCH,
    logger: recordingLogger(lines),
  } as unknown as PmContext;
  await aptPackageManager.clean(ctx);

  expect((await readdir(join(root, 'etc/ssh'))).sort()).toEqual(['moduli', 'sshd_config']);
  const unit = await readFile(join(root, UNIT), 'utf8');
  expect(unit).toContain('ExecStart=/usr/bin/ssh-keygen -A\n');
  expect(unit).toContain('Before=ssh.service sshd.service\n');
  // Any one key missing is reason to run (triggering conditions are OR-ed).
  for (const t of ['ecdsa', 'ed25519', 'rsa'])
    expect(unit).toContain(`ConditionPathExists=|!/etc/ssh/ssh_host_${t}_key\n`);
  const st = await stat(join(root, UNIT));
  expect(st.mode & 0o7777).toBe(0o644);
  expect(st.mtimeMs).toBe(EPOCH * 1000);
  expect(await readlink(join(root, WANTS))).toBe(`../${SSH_KEYGEN_UNIT}`);
  expect((await lstat(join(root, WANTS))).mtimeMs).toBe(EPOCH * 1000);
  expect(lines).toContain('removed 6 SSH host key files (made at boot)');

  // A second clean (iso-base's, then staging's) changes nothing.
  await aptPackageManager.clean(ctx);
  expect(await readFile(join(root, UNIT), 'utf8')).toBe(unit);
});

test('a root with sshd but no systemd loses its keys, gets no unit, and the log says what its init must do', async () => {
  await addSshd();
  const lines: string[] = [];
  await aptPackageManager.clean({ rootfs: root, logger: recordingLogger(lines) } as unknown as PmContext);
  expect((await readdir(join(root, 'etc/ssh'))).sort()).toEqual(['moduli', 'sshd_config']);
  expect(existsSync(join(root, UNIT))).toBe(false);
  expect(lines).toContain(
    'warn: the root has sshd but no systemd: its init must run ssh-keygen -A before sshd starts',
  );
});

test('a root without sshd gets no unit; a key that is a link to the host is removed as a link', async () => {
  await addExecutable('usr/lib/systemd/systemd');
  const hostFile = join(tmp.path, 'host-key');
  await writeFile(hostFile, 'host');
  await symlink(hostFile, join(root, 'etc/ssh/ssh_host_dsa_key'));
  const res = await moveSshHostKeysToBoot(root, EPOCH);
  expect(res.removed).toEqual(['/etc/ssh/ssh_host_dsa_key', ...KEYS.map((k) => `/etc/ssh/${k}`).sort()]);
  expect(res.unit).toBeUndefined();
  expect(existsSync(join(root, 'etc/systemd'))).toBe(false);
  expect(await readFile(hostFile, 'utf8')).toBe('host');
});

test('a root without /etc/ssh is left as it is', async () => {
  const bare = join(tmp.path, 'bare');
  await mkdir(bare);
  expect(await moveSshHostKeysToBoot(bare, EPOCH)).toEqual({ removed: [] });
  expect(await readdir(bare)).toEqual([]);
});
