import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { sha256 } from '../fs/hash.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** A DSSE envelope (github.com/secure-systems-lab/dsse): the payload, base64, with its signatures. */
export interface DsseEnvelope {
  readonly payloadType: string;
  readonly payload: string;
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
}

/** DSSE's pre-authentication encoding: what is signed, so the type cannot be swapped under a signature. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/** ed25519 signs the message itself; ECDSA P-256 its sha256. Other keys are refused by name. */
function algorithmOf(key: KeyObject, file: string): 'sha256' | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
    return 'sha256';
  throw new UsageError(
    `${file}: a ${key.asymmetricKeyType ?? 'unknown'} key${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}; provenance is signed with ed25519 or ECDSA P-256 keys`,
  );
}

/** The key id: sha256 of the public key's DER (SubjectPublicKeyInfo), hex. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return sha256()
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** A PEM private key; its text is never logged or kept. A passphrase-protected key is refused by name. */
export async function readPrivateKey(file: string): Promise<KeyObject> {
  const text = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`signing key ${file}: cannot read it (${err.code ?? err.message})`);
  });
  try {
    return createPrivateKey(text);
  } catch (err) {
    throw new UsageError(
      `signing key ${file}: not a PEM private key without a passphrase (${(err as Error).message})`,
    );
  }
}

/** A PEM public key, or the public half of a private key file. */
export async function readPublicKey(file: string): Promise<KeyObject> {
  const text = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`public key ${file}: cannot read it (${err.code ?? err.message})`);
  });
  try {
    return createPublicKey(text);
  } catch (err) {
    throw new UsageError(`public key ${file}: not a PEM key (${(err as Error).message})`);
  }
}

export function signEnvelope(payload: Buffer, key: KeyObject, file: string): DsseEnvelope {
  const sig = sign(algorithmOf(key, file), preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload), key);
  return {
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: payload.toString('base64'),
    signatures: [{ keyid: keyIdOf(key), sig: sig.toString('base64') }],
  };
}

/** Whether one of the envelope's signatures is `key`'s over its payload. */
export function verifyEnvelope(envelope: DsseEnvelope, key: KeyObject, file: string): boolean {
  const message = preAuthEncoding(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));
  const algorithm = algorithmOf(key, file);
  return envelope.signatures.some((s) => {
    try {
      return verify(algorithm, message, key, Buffer.from(s.sig, 'base64'));
    } catch {
      return false;
    }
  });
}
