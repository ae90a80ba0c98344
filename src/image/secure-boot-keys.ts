import { access, constants, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { run } from '../exec/run.js';

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
