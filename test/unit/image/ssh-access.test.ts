import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interactiveQemuArgs, qemuArgs, type VmOptions } from '../../../src/image/qemu.js';
import {
  freePort,
  makeSshKey,
  parsePort,
  readSshState,
  removeSshState,
  sshArgs,
  sshCredentialArgs,
  sshDir,
  writeSshState,
} from '../../../src/image/ssh-access.js';

const vm: VmOptions = {
  target: { kind: 'iso', iso: '/i.iso' },
  uefi: false,
  disks: [],
  diskInterface: 'virtio',
  memoryMb: 1024,
  accel: 'tcg',
  ssh: { port: 2222, publicKey: 'ssh-ed25519 AAAA k' },
};

describe('qemu --ssh arguments', () => {
  it('a user-mode virtio NIC forwarding the loopback port to 22, and the key as an SMBIOS credential', () => {
    const s = qemuArgs(vm).join(' ');
    expect(s).toContain('-netdev user,id=n0,hostfwd=tcp:127.0.0.1:2222-:22 -device virtio-net-pci,netdev=n0');
    const b64 = Buffer.from('ssh-ed25519 AAAA k\n').toString('base64');
    expect(s).toContain(`-smbios type=11,value=io.systemd.credential.binary:ssh.authorized_keys.root=${b64}`);
  });

  it('no NIC and no credential without --ssh', () => {
    const s = qemuArgs({ ...vm, ssh: undefined }).join(' ');
    expect(s).not.toContain('-netdev');
    expect(s).not.toContain('-smbios');
  });

  it('a microVM refuses --ssh', () => {
    expect(() =>
      qemuArgs({ ...vm, target: { kind: 'microvm', kernel: '/k', cmdline: '', drives: [] } as never }),
    ).toThrow(/--ssh: a microVM/);
  });

  it('an interactive boot puts the monitor on the terminal with the console', () => {
    const args = interactiveQemuArgs(vm);
    expect(args.join(' ')).toContain('-serial mon:stdio');
    expect(args).not.toContain('-monitor');
  });

  it('the credential value is plain base64: no comma for qemu to split on', () => {
    const value = sshCredentialArgs('ssh-ed25519 AAAA,x a,b')[1]!;
    expect(value.split('=').slice(3).join('=')).toMatch(/^[A-Za-z0-9+/=]+$/);
  });
});

describe('the per-VM key and state', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-ssh-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lives in the cache under ssh/<name>, the name made safe for a path', () => {
    expect(sshDir('/c', 'debian-12-appliance')).toBe('/c/ssh/debian-12-appliance');
    expect(sshDir('/c', '../x y')).toBe('/c/ssh/.._x_y');
  });

  it('ssh-keygen makes an ed25519 key: folder 0700, private key 0600, a fresh one each time', async () => {
    const keyDir = join(dir, 'ssh', 'r');
    const key = await makeSshKey(keyDir);
    expect((await stat(keyDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'ssh'))).mode & 0o777).toBe(0o700);
    expect((await stat(key.privateKey)).mode & 0o777).toBe(0o600);
    expect(key.privateKey.startsWith(keyDir)).toBe(true);
    expect(key.publicKey).toMatch(/^ssh-ed25519 \S+ isobuild-qemu$/);
    expect(await readFile(key.privateKey, 'utf8')).toContain('OPENSSH PRIVATE KEY');
    const again = await makeSshKey(keyDir);
    expect(again.publicKey).not.toBe(key.publicKey);
  });

  it('the state names the port and key while its isobuild runs; a dead pid or no state is a usage error', async () => {
    await expect(readSshState(dir, 'isobuild qemu r --ssh')).rejects.toThrow(
      /no VM started by `isobuild qemu r --ssh` is running/,
    );
    const state = { port: 2222, privateKey: join(dir, 'k'), pid: process.pid, image: '/i.iso' };
    await writeSshState(dir, state);
    expect((await stat(join(dir, 'state.json'))).mode & 0o777).toBe(0o600);
    await expect(readSshState(dir, 'x')).resolves.toEqual(state);
    await writeSshState(dir, { ...state, pid: 2 ** 22 + 1 });
    await expect(readSshState(dir, 'x')).rejects.toThrow(/no VM started/);
    await removeSshState(dir);
    await expect(readSshState(dir, 'x')).rejects.toThrow(/no VM started/);
  });

  it('ssh logs in as root on loopback with only that key, keeping ~/.ssh/known_hosts untouched', () => {
    expect(sshArgs({ port: 2222, privateKey: '/k' }, ['uname', '-r'])).toEqual([
      '-i',
      '/k',
      '-p',
      '2222',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'IdentitiesOnly=yes',
      'root@127.0.0.1',
      'uname',
      '-r',
    ]);
  });
});

describe('ports', () => {
  it('freePort gives a loopback port that can be bound', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => ok());
    });
    await new Promise((ok) => server.close(ok));
  });

  it('--ssh-port takes 1 to 65535', () => {
    expect(parsePort('2222')).toBe(2222);
    for (const bad of ['0', '65536', 'x', '1.5']) expect(() => parsePort(bad)).toThrow(/--ssh-port/);
  });
});
