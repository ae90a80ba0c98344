import { mkdtemp, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import { SNAKEOIL_CERT, SNAKEOIL_KEY } from '../../../src/image/secure-boot-firmware.js';
import { SYSTEMD_STUB, signPe } from '../../../src/image/uki.js';
import { espOffset, ESP_TYPE_GUID } from '../../../src/image/disk-esp.js';
import { makeEspImage } from '../../../src/image/efi.js';
import { verifyBoot } from '../../../src/image/verify-boot.js';

/** Real EFI binaries: systemd-stub as shipped (unsigned) and signed with Debian's snakeoil key. */
let dir: string;
let signed: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-verify-boot-'));
  const key = join(dir, 'db.key');
  await run('openssl', ['pkey', '-in', SNAKEOIL_KEY, '-passin', 'pass:snakeoil', '-out', key]);
  signed = await signPe(
    run,
    SYSTEMD_STUB,
    join(dir, 'signed.efi'),
    { key, cert: SNAKEOIL_CERT },
    1_700_000_000,
  );
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a signed EFI binary: its signer subject, and it passes its db cert', async () => {
  expect(await verifyBoot(signed, SNAKEOIL_CERT)).toEqual([
    { path: signed, signers: ['/C=US/ST=Colorado/L=Fort Collins/O=SnakeOil'], passes: true },
  ]);
});

test('an unsigned one: no signer, and it fails the cert', async () => {
  expect(await verifyBoot(SYSTEMD_STUB, SNAKEOIL_CERT)).toEqual([
    { path: SYSTEMD_STUB, signers: [], passes: false },
  ]);
});

/**
 * A real GPT disk (sfdisk) whose second partition is an ESP holding the signed stub as
 * BOOTX64.EFI, as raw and as qcow2 (qemu-img): verify-boot finds the ESP by its type, not its
 * place, and reads it at its offset.
 */
describe('a disk image', () => {
  let raw: string;
  beforeAll(async () => {
    const esp = await makeEspImage(
      run,
      { 'EFI/BOOT/BOOTX64.EFI': signed },
      await mkdtemp(join(dir, 'esp-')),
      0,
    );
    raw = join(dir, 'disk.raw');
    await writeFile(raw, '');
    await truncate(raw, 4 * 1024 * 1024 + (await stat(esp)).size);
    const table = `label: gpt\nstart=2048, size=2048, name=other\nstart=4096, type=${ESP_TYPE_GUID}, name=esp\n`;
    await run('sfdisk', ['--no-reread', '--no-tell-kernel', raw], { input: table });
    await run('dd', [`if=${esp}`, `of=${raw}`, 'bs=512', 'seek=4096', 'conv=notrunc'], { stage: 'test' });
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, join(dir, 'disk.qcow2')]);
    // A certificate of a key that signed nothing: the db the stub must fail.
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=not the signer',
      '-days',
      '1',
      '-keyout',
      join(dir, 'other.key'),
      '-out',
      join(dir, 'other.pem'),
    ]);
  }, 60_000);

  test("sfdisk's table: the ESP's offset by its type GUID; none without a GPT", () => {
    const gpt = {
      partitiontable: {
        label: 'gpt',
        sectorsize: 512,
        partitions: [
          { start: 2048, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4' },
          { start: 4096, type: ESP_TYPE_GUID.toLowerCase() },
        ],
      },
    };
    expect(espOffset(JSON.stringify(gpt))).toBe(4096 * 512);
    expect(espOffset(JSON.stringify({ partitiontable: { label: 'dos', partitions: [] } }))).toBeUndefined();
  });

  test.each(['disk.raw', 'disk.qcow2'])(
    "%s: the ESP's BOOTX64.EFI, its signer, pass and fail",
    async (name) => {
      const disk = join(dir, name);
      expect(await verifyBoot(disk, SNAKEOIL_CERT)).toEqual([
        {
          path: 'esp:/EFI/BOOT/BOOTX64.EFI',
          signers: ['/C=US/ST=Colorado/L=Fort Collins/O=SnakeOil'],
          passes: true,
        },
      ]);
      const other = await verifyBoot(disk, join(dir, 'other.pem'));
      expect(other.map((r) => r.passes)).toEqual([false]);
    },
    60_000,
  );
});
