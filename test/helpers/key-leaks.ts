import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';

/** Every file under `root` (no symlinks followed); none when it does not exist. */
export async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * The files of `files` that hold bytes only the private key `key` (PEM) has: the DER's tail (the
 * CRT coefficient: private, unlike the modulus, which the certificate in each signature carries)
 * and a PEM line near the end.
 */
export async function filesHoldingKey(files: readonly string[], key: string): Promise<string[]> {
  const der = (await run('openssl', ['pkey', '-in', key, '-outform', 'DER'], { binaryStdout: true }))
    .stdoutBuffer!;
  const pem = (await readFile(key, 'utf8')).trim().split('\n');
  const needles = [der.subarray(der.length - 64), Buffer.from(pem[pem.length - 3]!)];
  const holding: string[] = [];
  for (const file of files) {
    const bytes = await readFile(file);
    if (needles.some((n) => bytes.includes(n))) holding.push(file);
  }
  return holding;
}
