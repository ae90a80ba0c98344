import { createServer } from 'node:net';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { run } from '../exec/run.js';
import { silentLogger, type Logger } from '../log/logger.js';

/**
 * `isobuild qemu --ssh`: a key made for one VM, in a private folder of the cache (never in the
 * image, a stage root or the repo folder), whose public half reaches the guest only at boot, as
 * the systemd credential ssh.authorized_keys.root in an SMBIOS type 11 string. systemd (252 and
 * later) imports it, and its tmpfiles.d/provision.conf writes it to /root/.ssh/authorized_keys.
 */

export const SSH_CREDENTIAL = 'ssh.authorized_keys.root';
const KEY_FILE = 'id_ed25519';
const STATE_FILE = 'state.json';

export interface SshKey {
  dir: string;
  /** The private key, mode 0600. */
  privateKey: string;
  /** The public key line, as authorized_keys takes it. */
  publicKey: string;
}

/** Where a VM's key and state live: one folder per name (a repo, or an image's file name). */
export function sshDir(cacheRoot: string, name: string): string {
  return join(cacheRoot, 'ssh', name.replace(/[^A-Za-z0-9._-]/g, '_'));
}

/** A fresh ed25519 key in `dir` (made 0700), replacing any earlier one: one key per VM started. */
export async function makeSshKey(dir: string, logger: Logger = silentLogger): Promise<SshKey> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const privateKey = join(dir, KEY_FILE);
  await rm(privateKey, { force: true });
  await rm(`${privateKey}.pub`, { force: true });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'isobuild-qemu', '-f', privateKey], {
    stage: 'ssh',
    logger,
  });
  await chmod(privateKey, 0o600);
  return { dir, privateKey, publicKey: (await readFile(`${privateKey}.pub`, 'utf8')).trim() };
}

/** qemu's SMBIOS type 11 string carrying the public key as a (base64) systemd credential. */
export function sshCredentialArgs(publicKey: string): string[] {
  const value = Buffer.from(`${publicKey}\n`).toString('base64');
  return ['-smbios', `type=11,value=io.systemd.credential.binary:${SSH_CREDENTIAL}=${value}`];
}

/** A user-mode NIC whose host port `port` (on loopback only) forwards to the guest's port 22. */
export function sshNetArgs(port: number): string[] {
  return ['-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', 'virtio-net-pci,netdev=n0'];
}

/** A loopback port free now (the kernel picks it); qemu binds it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--ssh-port ${value}: 1 to 65535`);
  return n;
}

/** What `isobuild ssh` needs of a running `isobuild qemu --ssh`. */
export interface SshState {
  port: number;
  privateKey: string;
  /** isobuild's pid: the state is stale once it is gone. */
  pid: number;
  image: string;
}

export async function writeSshState(dir: string, state: SshState): Promise<void> {
  await writeFile(join(dir, STATE_FILE), JSON.stringify(state) + '\n', { mode: 0o600 });
}

export async function removeSshState(dir: string): Promise<void> {
  await rm(join(dir, STATE_FILE), { force: true });
}

/** The state of the VM `started` (the command that starts it), or a UsageError saying none runs. */
export async function readSshState(dir: string, started: string): Promise<SshState> {
  const text = await readFile(join(dir, STATE_FILE), 'utf8').catch(() => undefined);
  const state = text ? (JSON.parse(text) as SshState) : undefined;
  if (!state || !isAlive(state.pid))
    throw new UsageError(`no VM started by \`${started}\` is running (state: ${join(dir, STATE_FILE)})`);
  return state;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** ssh's arguments to reach the VM as root with its key, without touching ~/.ssh/known_hosts. */
export function sshArgs(state: Pick<SshState, 'port' | 'privateKey'>, command: readonly string[]): string[] {
  return [
    '-i',
    state.privateKey,
    '-p',
    String(state.port),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'IdentitiesOnly=yes',
    'root@127.0.0.1',
    ...command,
  ];
}
