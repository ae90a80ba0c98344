import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** Where the build host's apt keeps the keys it trusts. */
export const HOST_TRUSTED_PARTS = '/etc/apt/trusted.gpg.d';

/** A repo key's name as apt reads it from trusted.gpg.d: .asc when armoured, else .gpg. */
export function keyFileName(file: string, content: Buffer): string {
  const stem = basename(file).replace(/\.(asc|gpg)$/, '');
  return content.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP')
    ? `${stem}.asc`
    : `${stem}.gpg`;
}

/**
 * The repo's GPG keys (for third-party apt repos), named so apt reads them, in a keyring
 * folder that also holds the host's trusted keys: mmdebstrap's --keyring replaces the default.
 * Undefined when the spec names none: the host's trusted keys serve as they are.
 */
export async function prepareKeys(
  gpgKeys: readonly string[],
  keyringDir: string,
): Promise<{ keyringDir: string; files: string[] } | undefined> {
  if (!gpgKeys.length) return undefined;
  await mkdir(keyringDir, { recursive: true });
  for (const name of await readdir(HOST_TRUSTED_PARTS).catch(() => [] as string[])) {
    if (name.endsWith('.gpg') || name.endsWith('.asc'))
      await copyFile(join(HOST_TRUSTED_PARTS, name), join(keyringDir, name));
  }
  const files: string[] = [];
  for (const key of gpgKeys) {
    const content = await readFile(key);
    const dest = join(keyringDir, keyFileName(key, content));
    await writeFile(dest, content);
    files.push(dest);
  }
  return { keyringDir, files };
}
