import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../../src/errors.js';
import {
  dbSigner,
  keyPairProblems,
  resolveKeyPath,
  signerFacts,
} from '../../../src/image/secure-boot-keys.js';

/**
 * Real openssl key pairs in a temp dir: one good, one other, and one whose certificate expired
 * (OpenSSL 3.0's req/x509 cannot back-date a certificate: python3-cryptography writes it).
 */
let dir: string;
let repo: string;
const pair = (name: string) => ({ key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`) });

async function makePair(name: string, days: number, where = dir): Promise<void> {
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-days',
    String(days),
    '-keyout',
    join(where, `${name}.key`),
    '-out',
    join(where, `${name}.pem`),
  ]);
}

const EXPIRED = `
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
key = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'expired')])
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    .serial_number(1).not_valid_before(datetime.datetime(2020, 1, 1))
    .not_valid_after(datetime.datetime(2020, 1, 2)).sign(key, hashes.SHA256()))
open(sys.argv[2], 'wb').write(cert.public_bytes(serialization.Encoding.PEM))
`;

async function makeExpired(): Promise<void> {
  await makePair('expired', 30);
  await run('python3', ['-c', EXPIRED, pair('expired').key, pair('expired').cert]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-sb-keys-'));
  repo = join(dir, 'repos', 'debian-12');
  await mkdir(repo, { recursive: true });
  await makePair('good', 30);
  await makePair('other', 30);
  await makeExpired();
  await makePair('inside', 30, repo);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a matching, valid pair outside the repo folder passes', async () => {
  expect(await keyPairProblems(pair('good'), repo)).toEqual([]);
});

test('$VAR names the path; an unset variable is an error', async () => {
  const env = { DB_KEY: pair('good').key, DB_CERT: pair('good').cert };
  expect(await keyPairProblems({ key: '$DB_KEY', cert: '$DB_CERT' }, repo, env)).toEqual([]);
  expect(resolveKeyPath('$NOPE', {})).toEqual({ problem: '$NOPE: the environment variable is not set' });
});

test('a key that is not the certificate one is refused', async () => {
  const problems = await keyPairProblems({ key: pair('other').key, cert: pair('good').cert }, repo);
  expect(problems).toEqual([
    expect.stringMatching(/does not match cert .*good\.pem \(their public keys differ\)/),
  ]);
});

test('an expired certificate is refused', async () => {
  expect(await keyPairProblems(pair('expired'), repo)).toEqual([
    expect.stringMatching(/expired\.pem: the certificate has expired/),
  ]);
});

test('a key inside the repo folder is refused', async () => {
  const inside = { key: join(repo, 'inside.key'), cert: join(repo, 'inside.pem') };
  const problems = await keyPairProblems(inside, repo);
  expect(problems).toEqual([
    expect.stringMatching(/^key .* lies inside the repo folder/),
    expect.stringMatching(/^cert .* lies inside the repo folder/),
  ]);
});

test('an unreadable or non-PEM file is refused', async () => {
  const junk = join(dir, 'junk.pem');
  await writeFile(junk, 'not a certificate');
  expect(await keyPairProblems({ key: join(dir, 'missing.key'), cert: pair('good').cert }, repo)).toEqual([
    expect.stringMatching(/missing\.key: not readable/),
  ]);
  expect(await keyPairProblems({ key: pair('good').key, cert: junk }, repo)).toEqual([
    expect.stringMatching(/junk\.pem: not a PEM certificate/),
  ]);
});

test('dbSigner resolves $VAR for the signing stages; none for "distribution"; an unset variable is a UsageError', () => {
  const env = { DB_KEY: pair('good').key };
  expect(dbSigner({ key: '$DB_KEY', cert: pair('good').cert }, env)).toEqual(pair('good'));
  expect(dbSigner('distribution', env)).toBeUndefined();
  expect(dbSigner(undefined, env)).toBeUndefined();
  expect(() => dbSigner({ key: '$NOPE', cert: pair('good').cert }, env)).toThrow(UsageError);
});

test("signerFacts hold the certificate's digest and the public key's, nothing of the private key", async () => {
  const facts = await signerFacts(pair('good'));
  expect(facts.certSha256).toBe(
    createHash('sha256')
      .update(await readFile(pair('good').cert))
      .digest('hex'),
  );
  const pub = (await run('openssl', ['pkey', '-in', pair('good').key, '-pubout'])).stdout;
  expect(facts.publicKeySha256).toBe(createHash('sha256').update(pub).digest('hex'));
  const keyDigest = createHash('sha256')
    .update(await readFile(pair('good').key))
    .digest('hex');
  expect(JSON.stringify(facts)).not.toContain(keyDigest);
  expect((await signerFacts(pair('other'))).publicKeySha256).not.toBe(facts.publicKeySha256);
});
