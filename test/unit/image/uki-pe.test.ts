import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from '../../../src/errors.js';
import { isPeFile, stampPeTime, SYSTEMD_STUB } from '../../../src/image/uki.js';

/** The PE checks on real files: Debian's systemd-stub (a PE) and a file that is none. */
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-uki-pe-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('systemd-stub is a PE file; a bzImage-sized blob of zeros is not', async () => {
  expect(await isPeFile(SYSTEMD_STUB)).toBe(true);
  const blob = join(dir, 'not-pe');
  await writeFile(blob, Buffer.alloc(4096));
  expect(await isPeFile(blob)).toBe(false);
});

test('stampPeTime writes the date into the COFF header, and refuses a file that is no PE', async () => {
  const stub = join(dir, 'stub.efi');
  await copyFile(SYSTEMD_STUB, stub);
  await stampPeTime(stub, 1_700_000_000);
  const bytes = await readFile(stub);
  const pe = bytes.readUInt32LE(0x3c);
  expect(bytes.readUInt32LE(pe + 8)).toBe(1_700_000_000);

  const blob = join(dir, 'zeros');
  await writeFile(blob, Buffer.alloc(4096));
  await expect(stampPeTime(blob, 1)).rejects.toThrow(BuildError);
  expect((await readFile(blob)).equals(Buffer.alloc(4096))).toBe(true);
});
