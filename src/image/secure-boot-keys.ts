import { access, constants, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import { run } from '../exec/run.js';
import { sha256File } from '../fs/hash.js';
import type { ResolvedSpec } from '../spec/types.js';

/** A `secure_boot` key or cert value: `$NAME` names an environment variable holding the path. */
export function resolveKeyPath(
  value: string,
  env: NodeJS.ProcessEnv = process.env,
): { path?: string; problem?: string } {
  const m = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(value);
  if (!m) return { path: resolve(value) };
  const path = env[m[1]!];
  return path ? { path: resolve(path) } : { problem: `${value}: the environment variable is not set` };
}

/**
 * What is wrong with a db key pair, or undefined: each file readable and outside the repo
 * folder (a key inside it would be hashed into the cache keys' sources, copied and shipped),
 * the certificate not expired, and the key the certificate's (their public keys compared with
 * openssl). Only public parts are printed; nothing is logged.
 */
export async function keyPairProblems(
  pair: { key: string; cert: string },
  repoDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  const out: string[] = [];
  const paths: Record<'key' | 'cert', string> = { key: '', cert: '' };
  for (const which of ['key', 'cert'] as const) {
    const r = resolveKeyPath(pair[which], env);
    if (!r.path) {
      out.push(`${which} ${r.problem}`);
      continue;
    }
    const ok = await access(r.path, constants.R_OK).then(
      () => true,
      () => false,
    );
    if (!ok) {
      out.push(`${which} ${r.path}: not readable`);
      continue;
    }
    const real = await realpath(r.path);
    const rel = relative(await realpath(repoDir), real);
    if (!rel.startsWith('..') && !isAbsolute(rel))
      out.push(
        `${which} ${r.path} lies inside the repo folder: it would be cached and shipped; keep it outside (or name it with $VAR)`,
      );
    paths[which] = real;
  }
  if (out.length) return out;
  const x509 = await run('openssl', ['x509', '-in', paths.cert, '-noout', '-pubkey'], { allowFailure: true });
  if (x509.exitCode !== 0)
    return [`cert ${paths.cert}: not a PEM certificate (${x509.stderr.trim().split('\n')[0]})`];
  const expiry = await run('openssl', ['x509', '-in', paths.cert, '-noout', '-checkend', '0'], {
    allowFailure: true,
  });
  if (expiry.exitCode !== 0) out.push(`cert ${paths.cert}: the certificate has expired`);
  const pub = await run('openssl', ['pkey', '-in', paths.key, '-pubout', '-passin', 'pass:'], {
    allowFailure: true,
  });
  if (pub.exitCode !== 0) out.push(`key ${paths.key}: not an unencrypted PEM private key openssl can read`);
  else if (pub.stdout.trim() !== x509.stdout.trim())
    out.push(`key ${paths.key} does not match cert ${paths.cert} (their public keys differ)`);
  return out;
}

/** A db key pair as the signing stages get it: absolute paths, `$VAR`s resolved. */
export interface DbSigner {
  readonly key: string;
  readonly cert: string;
}

/**
 * The pair `secure_boot: {key, cert}` names, or undefined for none or "distribution". The
 * rule secure-boot-keys has checked it before any stage; an unset variable here is a
 * UsageError all the same (a plan made without the rules, e.g. by a library caller).
 */
export function dbSigner(
  secureBoot: ResolvedSpec['secureBoot'],
  env: NodeJS.ProcessEnv = process.env,
): DbSigner | undefined {
  if (!secureBoot || secureBoot === 'distribution') return undefined;
  const paths = { key: '', cert: '' };
  for (const which of ['key', 'cert'] as const) {
    const r = resolveKeyPath(secureBoot[which], env);
    if (!r.path) throw new UsageError(`secure_boot ${which} ${r.problem}`);
    paths[which] = r.path;
  }
  return paths;
}

/**
 * What a signing stage's key holds of the pair: the certificate's digest and the digest of the
 * key's public part (openssl pkey -pubout), never the private key or a digest of it. Another
 * key for the same certificate cannot sign for it, so these two name the signature.
 */
export async function signerFacts(
  signer: DbSigner,
): Promise<{ certSha256: string; publicKeySha256: string }> {
  const pub = await run('openssl', ['pkey', '-in', signer.key, '-pubout', '-passin', 'pass:'], {
    stage: 'secure boot',
  });
  return {
    certSha256: await sha256File(signer.cert),
    publicKeySha256: createHash('sha256').update(pub.stdout).digest('hex'),
  };
}
