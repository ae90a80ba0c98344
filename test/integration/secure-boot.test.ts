import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesHoldingKey, filesUnder } from '../helpers/key-leaks.js';
import { run, type RunResult } from '../../src/exec/run.js';
import { makeEspImage } from '../../src/image/efi.js';
import { SNAKEOIL_CERT, SNAKEOIL_KEY } from '../../src/image/secure-boot-firmware.js';
import { makeUki, signPe, stampPeTime } from '../../src/image/uki.js';

/**
 * secure_boot "distribution" end to end, through the real CLI: the debian-12 bootstrap ISO
 * with Debian's signed shim → GRUB → kernel boots under OVMF with Secure Boot enforced and
 * Microsoft's keys enrolled, and still under BIOS; the unsigned UEFI path is refused by that
 * firmware; the appliance disk's ESP carries the same chain (with the disk GRUB) and boots
 * the same way; an RPM repo asking for the chain fails before any stage. Works on copies of
 * repos/debian-12 and repos/photon-2.0 in a temp folder with its own cache.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const EFI_GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';

let dir: string;
let env: Record<string, string>;
const cli = (args: string[], opts: { allowFailure?: boolean } = {}): Promise<RunResult> =>
  run('node', [CLI, ...args], { cwd: dir, env, timeoutMs: 1_200_000, stage: 'secure-boot test', ...opts });

async function writeSpec(repo: string, change: (spec: Record<string, unknown>) => void): Promise<void> {
  const file = join(dir, 'repos', repo, 'repo-spec.json');
  const spec = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  delete spec.$schema;
  change(spec);
  await writeFile(file, JSON.stringify(spec, null, 2));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-secure-boot-'));
  for (const repo of ['debian-12', 'photon-2.0'])
    await cp(join(ROOT, 'repos', repo), join(dir, 'repos', repo), { recursive: true });
  await writeSpec('debian-12', (spec) => {
    spec.secure_boot = 'distribution';
    // efivarfs is a module in Debian's kernels: loaded, the init mounts it.
    spec.drivers = [...((spec.drivers as string[] | undefined) ?? []), 'efivarfs'];
  });
  env = { ISOBUILD_CACHE: join(dir, 'cache'), ISOBUILD_REPOS: join(dir, 'repos'), NO_COLOR: '1' };
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('secure_boot "distribution"', () => {
  const iso = () => join(dir, 'bin', 'signed.iso');

  test('the ISO boots with Secure Boot enforced under Microsoft keys: SecureBoot reads 1', async () => {
    await cli(['build', 'debian-12', '--target', 'bootstrap', '--output', iso()]);
    const res = await cli([
      'run',
      iso(),
      '--secure-boot',
      '--',
      'od',
      '-An',
      '-tu1',
      `/sys/firmware/efi/efivars/SecureBoot-${EFI_GLOBAL}`,
    ]);
    // efivarfs: 4 bytes of attributes, then the value.
    const bytes = res.stdout.trim().split(/\s+/).map(Number);
    expect(bytes).toHaveLength(5);
    expect(bytes[4]).toBe(1);
  }, 1_500_000);

  test('the same ISO is hybrid and boots under BIOS', async () => {
    const mbr = (await readFile(iso())).subarray(510, 512);
    expect([...mbr]).toEqual([0x55, 0xaa]);
    const res = await cli(['run', iso(), '--', 'echo', 'bios-ok']);
    expect(res.stdout.trim()).toBe('bios-ok');
  }, 600_000);

  test('the ESP holds shim as BOOTX64.EFI and the signed GRUB beside it, and the ISO /.disk/info', async () => {
    const listing = (
      await run('xorriso', ['-indev', iso(), '-report_el_torito', 'plain'], { allowFailure: true })
    ).stdout;
    expect(listing).toMatch(/El Torito boot img\s*:\s*2\s+UEFI/);
    const infoFile = join(dir, 'disk-info');
    await run('xorriso', ['-osirrox', 'on', '-indev', iso(), '-extract', '/.disk/info', infoFile]);
    expect((await readFile(infoFile, 'utf8')).trim()).toMatch(/^ISOBUILD_/);
  }, 120_000);

  test("the appliance disk's ESP carries shim, the signed GRUB and EFI/debian/grub.cfg, and boots with Secure Boot enforced", async () => {
    const disk = join(dir, 'bin', 'signed.raw');
    await cli(['build', 'debian-12', '--target', 'appliance-disk', '--output', disk]);
    // mtools reads the ESP at its partition's offset (1 MiB) in the raw disk.
    const mdir = async (path: string) =>
      (await run('mdir', ['-b', '-i', `${disk}@@1M`, path], { env: { MTOOLS_SKIP_CHECK: '1' } })).stdout;
    const boot = (await mdir('::/EFI/BOOT')).split('\n').map((l) => l.trim());
    expect(boot).toEqual(expect.arrayContaining(['::/EFI/BOOT/BOOTX64.EFI', '::/EFI/BOOT/grubx64.efi']));
    expect(await mdir('::/EFI/debian')).toMatch(/grub\.cfg/);
    const res = await cli([
      'run',
      disk,
      '--secure-boot',
      '--',
      'od',
      '-An',
      '-tu1',
      `/sys/firmware/efi/efivars/SecureBoot-${EFI_GLOBAL}`,
    ]);
    const bytes = res.stdout.trim().split(/\s+/).map(Number);
    expect(bytes).toHaveLength(5);
    expect(bytes[4]).toBe(1);
  }, 1_500_000);

  test('without secure_boot the unsigned GRUB is refused by the enforcing firmware', async () => {
    await writeSpec('debian-12', (spec) => {
      delete spec.secure_boot;
    });
    const unsigned = join(dir, 'bin', 'unsigned.iso');
    await cli(['build', 'debian-12', '--target', 'bootstrap', '--output', unsigned]);
    const res = await cli(['run', unsigned, '--secure-boot', '--timeout', '120', '--console', '--', 'true'], {
      allowFailure: true,
    });
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toMatch(/Access Denied|Security Violation/);
  }, 900_000);

  test('an RPM repo asking for the chain fails at plan time, before any stage', async () => {
    await writeSpec('photon-2.0', (spec) => {
      spec.secure_boot = 'distribution';
    });
    const res = await cli(['plan', 'photon-2.0'], { allowFailure: true });
    expect(res.exitCode).not.toBe(0);
    expect(res.stdout + res.stderr).toMatch(/secure_boot.*no signed boot chain for packagemanager tdnf/);
  }, 120_000);
});

describe('a UKI signed with a db key (library: no uki target yet)', () => {
  const SDE = 1_700_000_000;
  let uki: { kernel: string; initrd: string; cmdline: string; osRelease: string };
  let key: string;

  beforeAll(async () => {
    const folder = join(dir, 'bin', 'kernel-initrd');
    await cli(['build', 'debian-12', '--target', 'initrd', '--output', folder]);
    const osRelease = join(dir, 'os-release');
    await writeFile(osRelease, 'ID=debian\nPRETTY_NAME="isobuild test UKI"\n');
    uki = {
      kernel: join(folder, 'vmlinuz'),
      initrd: join(folder, 'initrd.img'),
      cmdline: join(folder, 'cmdline'),
      osRelease,
    };
    // Debian ships the snakeoil key encrypted (passphrase "snakeoil"); the signer gets a plain copy.
    key = join(dir, 'keys', 'db.key');
    await mkdir(join(dir, 'keys'));
    await run('openssl', ['pkey', '-in', SNAKEOIL_KEY, '-passin', 'pass:snakeoil', '-out', key]);
  }, 1_200_000);

  async function signedUki(name: string, sign: boolean): Promise<string> {
    const work = join(dir, 'uki', name);
    await mkdir(work, { recursive: true });
    const unsigned = await makeUki(run, uki, join(work, 'unsigned.efi'));
    await stampPeTime(unsigned, SDE);
    if (!sign) return unsigned;
    return signPe(run, unsigned, join(work, 'signed.efi'), { key, cert: SNAKEOIL_CERT }, SDE);
  }

  async function esp(file: string): Promise<string> {
    const work = join(dir, 'esp', String(Math.random()).slice(2));
    await mkdir(work, { recursive: true });
    return makeEspImage(run, { 'EFI/BOOT/BOOTX64.EFI': file }, work, SDE);
  }

  test('two builds give byte-identical signed UKIs that pass the db cert', async () => {
    const a = await readFile(await signedUki('a', true));
    const b = await readFile(await signedUki('b', true));
    expect(a.equals(b)).toBe(true);
    const verified = await run('sbverify', ['--cert', SNAKEOIL_CERT, join(dir, 'uki', 'a', 'signed.efi')]);
    expect(verified.stdout + verified.stderr).toMatch(/Signature verification OK/);
  }, 300_000);

  test('the signed UKI boots under Secure Boot with the snakeoil keys', async () => {
    const image = await esp(join(dir, 'uki', 'a', 'signed.efi'));
    await cli([
      'boot',
      image,
      '--usb',
      '--secure-boot',
      'snakeoil',
      '--timeout',
      '600',
      '--expect',
      'secureboot: Secure boot enabled',
    ]);
  }, 900_000);

  test('the unsigned UKI is refused by the firmware', async () => {
    const image = await esp(await signedUki('u', false));
    const res = await cli([
      'boot',
      image,
      '--usb',
      '--secure-boot',
      'snakeoil',
      '--timeout',
      '600',
      '--expect',
      'Access Denied|Security Violation',
    ]);
    expect(res.stdout).not.toMatch(/Linux version/);
  }, 900_000);

  test("the key's bytes are in no cache file, log or output", async () => {
    const roots = [join(dir, 'cache'), join(dir, 'bin'), join(dir, 'uki'), join(dir, 'esp')];
    const files = (await Promise.all(roots.map(filesUnder))).flat();
    expect(await filesHoldingKey(files, key)).toEqual([]);
  }, 600_000);
});
