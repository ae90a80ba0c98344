import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesHoldingKey, filesUnder } from '../helpers/key-leaks.js';
import { run, type RunResult } from '../../src/exec/run.js';
import { makeEspImage } from '../../src/image/efi.js';
import { SNAKEOIL_CERT, SNAKEOIL_KEY } from '../../src/image/secure-boot-firmware.js';

/**
 * The uki target with secure_boot {key, cert}, through the real CLI: debian-12's bootstrap
 * kernel, initrd and command line joined on systemd-stub and signed with Debian's snakeoil db
 * key boot under OVMF with Secure Boot enforced and the snakeoil keys enrolled (SecureBoot
 * reads 1); the same UKI signed by another key is refused by the firmware; a second signing
 * gives the same bytes; an ISO with `uki: true` boots the UKI as its EFI path; so does the
 * appliance disk's ESP (one more build, about 2 minutes: the appliance stages); the private
 * keys' bytes are in no cache file, log or output. One cold build (about 3 minutes), the rest
 * from its cache. The key is named by an environment variable, as a CI secret would be.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const EFI_GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
const SECURE_BOOT_VAR = `/sys/firmware/efi/efivars/SecureBoot-${EFI_GLOBAL}`;

let dir: string;
let env: Record<string, string>;
const keys = () => join(dir, 'keys');
const uki = (name: string) => join(dir, 'bin', `${name}.efi`);

const cli = (args: string[], opts: { allowFailure?: boolean } = {}): Promise<RunResult> =>
  run('node', [CLI, ...args], { cwd: dir, env, timeoutMs: 1_200_000, stage: 'uki test', ...opts });

async function writeSpec(change: (spec: Record<string, unknown>) => void): Promise<void> {
  const file = join(dir, 'repos', 'debian-12', 'repo-spec.json');
  const spec = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  delete spec.$schema;
  change(spec);
  await writeFile(file, JSON.stringify(spec, null, 2));
}

/** A FAT image with the UKI on the removable-media path, booted as a USB disk. */
async function espWith(file: string): Promise<string> {
  const work = await mkdtemp(join(dir, 'esp-'));
  return makeEspImage(run, { 'EFI/BOOT/BOOTX64.EFI': file }, work, 0);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-uki-'));
  await cp(join(ROOT, 'repos', 'debian-12'), join(dir, 'repos', 'debian-12'), { recursive: true });
  await mkdir(keys());
  // Debian ships the snakeoil key encrypted (passphrase "snakeoil"): isobuild takes a plain one.
  await run('openssl', [
    'pkey',
    '-in',
    SNAKEOIL_KEY,
    '-passin',
    'pass:snakeoil',
    '-out',
    join(keys(), 'db.key'),
  ]);
  // Another key, enrolled nowhere: what it signs the snakeoil firmware must refuse.
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=isobuild test: not enrolled',
    '-days',
    '30',
    '-keyout',
    join(keys(), 'other.key'),
    '-out',
    join(keys(), 'other.pem'),
  ]);
  await writeSpec((spec) => {
    spec.secure_boot = { key: '$TEST_DB_KEY', cert: SNAKEOIL_CERT };
    // efivarfs is a module in Debian's kernels: loaded, the init mounts it.
    spec.drivers = [...((spec.drivers as string[] | undefined) ?? []), 'efivarfs'];
  });
  env = {
    ISOBUILD_CACHE: join(dir, 'cache'),
    ISOBUILD_REPOS: join(dir, 'repos'),
    NO_COLOR: '1',
    TEST_DB_KEY: join(keys(), 'db.key'),
  };
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
  await cli(['build', 'debian-12', '--target', 'uki', '--output', uki('signed')]);
}, 1_200_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * `uki: true` on the appliance disk: its ESP's BOOTX64.EFI is a UKI of the disk's own kernel,
 * initrd and command line, signed with the snakeoil db key. One build (qcow2), shared; the
 * rebuild (--force) redoes the disk-image stage alone. The private key's check at the end of
 * the next describe covers this build's cache and outputs too.
 */
describe('appliance disk with a signed UKI (uki: true)', () => {
  const diskFile = (bin: string) => join(dir, bin, 'appliance-debian-12.qcow2');
  const buildDisk = (bin: string, ...extra: string[]) =>
    cli([
      'build',
      'debian-12',
      '--target',
      'appliance-disk',
      '--format',
      'qcow2',
      '--bin',
      join(dir, bin),
      ...extra,
    ]);

  beforeAll(async () => {
    await writeSpec((spec) => {
      spec.uki = true;
    });
    await buildDisk('bin-disk');
  }, 1_200_000);

  afterAll(async () => {
    await writeSpec((spec) => {
      delete spec.uki;
    });
  });

  test('it boots under OVMF with Secure Boot enforced and the snakeoil keys: SecureBoot reads 1', async () => {
    const res = await cli([
      'run',
      diskFile('bin-disk'),
      '--secure-boot',
      'snakeoil',
      '--timeout',
      '600',
      '--',
      'od',
      '-An',
      '-tu1',
      SECURE_BOOT_VAR,
    ]);
    const bytes = res.stdout.trim().split(/\s+/).map(Number);
    expect(bytes).toHaveLength(5);
    expect(bytes[4]).toBe(1);
  }, 900_000);

  test("verify-boot reads the disk's ESP: the UKI passes the snakeoil db and fails another", async () => {
    const pass = await cli(['verify-boot', diskFile('bin-disk'), '--cert', SNAKEOIL_CERT]);
    expect(pass.stdout.trim().split('\n')).toEqual([
      'esp:/EFI/BOOT/BOOTX64.EFI: /C=US/ST=Colorado/L=Fort Collins/O=SnakeOil  passes',
    ]);
    const fail = await cli(['verify-boot', diskFile('bin-disk'), '--cert', join(keys(), 'other.pem')], {
      allowFailure: true,
    });
    expect(fail.exitCode).toBe(1);
    expect(fail.stdout).toMatch(/^esp:\/EFI\/BOOT\/BOOTX64\.EFI: .*SnakeOil\s+FAILS$/m);
  }, 300_000);

  test('a second build (--force) gives a byte-identical disk', async () => {
    await buildDisk('bin-disk2', '--force');
    const [a, b] = await Promise.all([readFile(diskFile('bin-disk')), readFile(diskFile('bin-disk2'))]);
    expect(a.equals(b)).toBe(true);
  }, 900_000);
});

describe('uki target signed with a db key', () => {
  test('the UKI passes the db certificate and carries the four sections on systemd-stub', async () => {
    const verified = await run('sbverify', ['--cert', SNAKEOIL_CERT, uki('signed')], { allowFailure: true });
    expect(verified.stdout + verified.stderr).toMatch(/Signature verification OK/);
    const headers = (await run('objdump', ['-h', uki('signed')])).stdout;
    for (const section of ['.osrel', '.cmdline', '.linux', '.initrd']) expect(headers).toContain(section);
  }, 120_000);

  test('it boots under OVMF with Secure Boot enforced and the snakeoil keys: SecureBoot reads 1', async () => {
    const res = await cli([
      'run',
      await espWith(uki('signed')),
      '--usb',
      '--secure-boot',
      'snakeoil',
      '--timeout',
      '600',
      '--',
      'od',
      '-An',
      '-tu1',
      SECURE_BOOT_VAR,
    ]);
    const bytes = res.stdout.trim().split(/\s+/).map(Number);
    expect(bytes).toHaveLength(5);
    expect(bytes[4]).toBe(1);
  }, 900_000);

  test('signing again (build --force) gives the same bytes', async () => {
    await cli(['build', 'debian-12', '--target', 'uki', '--force', '--output', uki('again')]);
    const [a, b] = await Promise.all([readFile(uki('signed')), readFile(uki('again'))]);
    expect(a.equals(b)).toBe(true);
  }, 600_000);

  test('an ISO with uki: true has the signed UKI as its EFI path and boots it under Secure Boot', async () => {
    await writeSpec((spec) => {
      spec.uki = true;
    });
    const iso = join(dir, 'bin', 'uki.iso');
    await cli(['build', 'debian-12', '--target', 'bootstrap', '--output', iso]);
    // The ISO's /boot/vmlinuz (the BIOS path's) is unsigned, so verify-boot's exit status is 1.
    const listing = (await cli(['verify-boot', iso, '--cert', SNAKEOIL_CERT], { allowFailure: true })).stdout;
    expect(listing).toMatch(/esp:\/EFI\/BOOT\/BOOTX64\.EFI: .*SnakeOil.*passes/);
    const res = await cli([
      'run',
      iso,
      '--secure-boot',
      'snakeoil',
      '--timeout',
      '600',
      '--',
      'echo',
      'uki-iso-ok',
    ]);
    expect(res.stdout.trim()).toBe('uki-iso-ok');
    await writeSpec((spec) => {
      delete spec.uki;
    });
  }, 1_200_000);

  test('a key with an ISO or a disk whose EFI path is GRUB (no uki: true) is refused before any stage', async () => {
    for (const target of ['bootstrap', 'appliance-disk']) {
      const res = await cli(['build', 'debian-12', '--target', target], { allowFailure: true });
      expect([target, res.exitCode]).toEqual([target, 2]);
      expect(res.stderr).toMatch(/set "uki": true/);
      expect(res.stdout + res.stderr).not.toMatch(/\[1\/\d+\]/);
    }
  }, 120_000);

  test('the same UKI signed by a key the firmware does not hold is refused on the console', async () => {
    env = { ...env, TEST_DB_KEY: join(keys(), 'other.key') };
    await writeSpec((spec) => {
      spec.secure_boot = { key: '$TEST_DB_KEY', cert: join(keys(), 'other.pem') };
    });
    await cli(['build', 'debian-12', '--target', 'uki', '--output', uki('other')]);
    const res = await cli(
      [
        'boot',
        await espWith(uki('other')),
        '--usb',
        '--secure-boot',
        'snakeoil',
        '--timeout',
        '600',
        '--expect',
        'Access Denied|Security Violation',
      ],
      { allowFailure: true },
    );
    expect(res.exitCode).toBe(0);
    expect(res.stdout).not.toMatch(/Linux version/);
  }, 900_000);

  test("the private keys' bytes are in no cache file, log or output", async () => {
    const roots = [join(dir, 'cache'), join(dir, 'bin'), join(dir, 'repos')];
    const files = (await Promise.all(roots.map(filesUnder))).flat();
    expect(files.length).toBeGreaterThan(100);
    for (const name of ['db.key', 'other.key'])
      expect([name, await filesHoldingKey(files, join(keys(), name))]).toEqual([name, []]);
  }, 600_000);
});
