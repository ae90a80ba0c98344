import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import { SNAKEOIL_CERT, SNAKEOIL_KEY } from '../../../src/image/secure-boot-firmware.js';
import { SYSTEMD_STUB, signPe } from '../../../src/image/uki.js';
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
