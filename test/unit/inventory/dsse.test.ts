import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  keyIdOf,
  preAuthEncoding,
  readPrivateKey,
  signEnvelope,
  verifyEnvelope,
} from '../../../src/inventory/dsse.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-dsse-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test("the pre-authentication encoding is DSSE's", () => {
  expect(preAuthEncoding('t', Buffer.from('hello')).toString()).toBe('DSSEv1 1 t 5 hello');
});

test.each([
  ['ed25519', () => generateKeyPairSync('ed25519')],
  ['ECDSA P-256', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' })],
])('a %s signature verifies; a changed payload or another key does not', (_name, make) => {
  const { privateKey, publicKey } = make();
  const envelope = signEnvelope(Buffer.from('{"a":1}'), privateKey, 'key.pem');
  expect(envelope.signatures[0]!.keyid).toBe(keyIdOf(publicKey));
  expect(verifyEnvelope(envelope, publicKey, 'pub.pem')).toBe(true);
  const changed = { ...envelope, payload: Buffer.from('{"a":2}').toString('base64') };
  expect(verifyEnvelope(changed, publicKey, 'pub.pem')).toBe(false);
  expect(verifyEnvelope(envelope, make().publicKey, 'other.pem')).toBe(false);
});

test('an RSA key is refused by name', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const file = join(dir, 'rsa.pem');
  await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const key = await readPrivateKey(file);
  expect(() => signEnvelope(Buffer.from('x'), key, file)).toThrow(
    `${file}: a rsa key; provenance is signed with ed25519 or ECDSA P-256 keys`,
  );
});

test('a file that is not a key is refused naming it', async () => {
  const file = join(dir, 'not-a-key');
  await writeFile(file, 'hello');
  await expect(readPrivateKey(file)).rejects.toThrow(`signing key ${file}: not a PEM private key`);
});
