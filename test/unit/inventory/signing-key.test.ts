import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyIdOf } from '../../../src/inventory/dsse.js';
import { loadSigningKey } from '../../../src/inventory/write-inventory.js';

let dir: string;
const pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-signing-key-'));
  await mkdir(join(dir, 'repos', 'demo'), { recursive: true });
  await mkdir(join(dir, 'keys'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('a key inside the repo folder is refused before it is read, naming both', async () => {
  const inside = join(dir, 'repos', 'demo', 'build.key');
  await writeFile(inside, pem());
  await expect(loadSigningKey(inside, { repoDir: join(dir, 'repos', 'demo') })).rejects.toThrow(
    `signing key ${inside}: inside the repo folder ${join(dir, 'repos', 'demo')}; keep private keys outside it`,
  );
});

test('a key beside the repo folder (a sibling whose name starts the same) is read', async () => {
  const file = join(dir, 'repos', 'demo-keys.key');
  await writeFile(file, pem());
  const signing = await loadSigningKey(file, { repoDir: join(dir, 'repos', 'demo') });
  expect(signing?.file).toBe(file);
  expect(keyIdOf(signing!.key)).toMatch(/^[0-9a-f]{64}$/);
});

test('no key, no signing', async () => {
  expect(await loadSigningKey(undefined, { repoDir: dir })).toBeUndefined();
});
