import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../../src/exec/run.js';
import { checkDescriptor } from '../helpers/ovf-check.js';

/**
 * The debian-12 appliance as an OVA, through the CLI as a user runs it (`build --target
 * appliance-disk --format ova`): the archive's order, the manifest's digests, the descriptor, the
 * streamOptimized disk inside, and that disk booted. The repo copy puts first-boot keys on the
 * kernel command line: the appliance's systemd runs isobuild-firstboot.service, and the serial
 * getty greets with the new host name. One build (the appliance's stages, from the mirror when the
 * cache is cold), one `run` and one `boot` of the extracted disk.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0x+y/z ova-test@isobuild';

let dir: string;
let env: Record<string, string>;
const cli = (args: string[], timeoutMs = 1_500_000): Promise<RunResult> =>
  run('node', [CLI, ...args], { cwd: dir, env, timeoutMs, stage: 'ova test' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-ova-'));
  const repo = join(dir, 'repos', 'debian-12');
  await cp(join(ROOT, 'repos', 'debian-12'), repo, { recursive: true });
  const spec = JSON.parse(await readFile(join(repo, 'repo-spec.json'), 'utf8')) as Record<string, unknown>;
  delete spec.$schema;
  spec.cmdline = `isobuild.hostname=foo isobuild.ssh_key="${KEY}"`;
  spec.ova = {
    cpus: 2,
    memory: 1024,
    firmware: 'efi',
    product: { name: 'debian-12 appliance', vendor: 'isobuild' },
  };
  await writeFile(join(repo, 'repo-spec.json'), JSON.stringify(spec, null, 2));
  env = { ISOBUILD_CACHE: join(dir, 'cache'), ISOBUILD_REPOS: join(dir, 'repos'), NO_COLOR: '1' };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the debian-12 appliance as an OVA', () => {
  const ova = () => join(dir, 'bin', 'appliance-debian-12.ova');
  const out = () => join(dir, 'ova');

  test('tar lists the descriptor, the manifest, the disk; digests match; the descriptor resolves; the disk is streamOptimized', async () => {
    await cli(['build', 'debian-12', '--target', 'appliance-disk', '--format', 'ova', '--output', ova()]);
    const listed = (await run('tar', ['-tf', ova()])).stdout.trim().split('\n');
    expect(listed).toEqual(['debian-12.ovf', 'debian-12.mf', 'debian-12-disk1.vmdk']);
    await mkdir(out());
    await run('tar', ['-xf', ova(), '-C', out()]);
    const manifest = await readFile(join(out(), 'debian-12.mf'), 'utf8');
    for (const name of ['debian-12.ovf', 'debian-12-disk1.vmdk']) {
      const digest = createHash('sha256')
        .update(await readFile(join(out(), name)))
        .digest('hex');
      expect(manifest).toContain(`SHA256(${name})= ${digest}\n`);
    }
    const vmdk = join(out(), 'debian-12-disk1.vmdk');
    const info = JSON.parse((await run('qemu-img', ['info', '--output=json', vmdk])).stdout) as {
      'virtual-size': number;
      'format-specific': { data: { 'create-type': string } };
    };
    expect(info['format-specific'].data['create-type']).toBe('streamOptimized');
    const xml = await readFile(join(out(), 'debian-12.ovf'), 'utf8');
    checkDescriptor(xml, {
      href: 'debian-12-disk1.vmdk',
      fileBytes: (await stat(vmdk)).size,
      capacityBytes: info['virtual-size'],
      cpus: 2,
      memory: 1024,
      controllerSubType: 'VirtualSCSI',
      nicSubType: 'VmxNet3',
    });
    expect(xml).toContain('vmw:key="firmware" vmw:value="efi"');
    expect(xml).toContain('<Product>debian-12 appliance</Product>');
    expect(xml).toContain('ovf:key="hostname"');
    expect((await run('xmllint', ['--noout', '--nonet', join(out(), 'debian-12.ovf')])).stderr).toBe('');
    // The VMDK's own descriptor names its extent as the member is named, not a temp file: a
    // second write of the same disk gives the same OVA, byte for byte.
    const head = (await readFile(vmdk)).subarray(0, 64 * 1024).toString('latin1');
    expect(head).toMatch(/RW \d+ SPARSE "debian-12-disk1\.vmdk"/);
    const again = join(dir, 'bin', 'again.ova');
    await cli(['build', 'debian-12', '--target', 'appliance-disk', '--format', 'ova', '--output', again]);
    expect((await readFile(again)).equals(await readFile(ova()))).toBe(true);
  }, 1_600_000);

  test('the disk inside boots under UEFI and runs uname -r', async () => {
    const vmdk = join(out(), 'debian-12-disk1.vmdk');
    const res = await cli(['run', vmdk, '--uefi', '--', 'uname', '-r'], 600_000);
    expect(res.stdout.trim()).toMatch(/^\d+\.\d+\.\d+-\d+-cloud-amd64$/);
  }, 700_000);

  test('booted to systemd, isobuild-firstboot.service applies the command line keys: the getty greets as foo', async () => {
    const vmdk = join(out(), 'debian-12-disk1.vmdk');
    const res = await cli(
      [
        'boot',
        vmdk,
        '--expect',
        'isobuild-firstboot: hostname foo',
        '--expect',
        'isobuild-firstboot: ssh_key added to /root/.ssh/authorized_keys',
        '--expect',
        'foo login:',
        '--timeout',
        '600',
      ],
      700_000,
    );
    expect(res.stdout).toMatch(/Finished .*isobuild-firstboo/);
  }, 800_000);
});
