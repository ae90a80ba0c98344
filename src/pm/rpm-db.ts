import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ResolvedSpec } from '../spec/types.js';
import type { PmContext } from './types.js';
import { exists } from '../fs/exists.js';

/**
 * The rpm database inside the root. Debian's rpm keeps its database under ~/.rpmdb unless
 * told otherwise, and --root does not make it read the root's macros, so every rpm call
 * names the database path and every front end (which uses librpm in-process) gets it from
 * a private ~/.rpmmacros: see writeRpmMacros.
 */
export const RPM_DBPATH = '/var/lib/rpm';

/** English messages, so logs and error tails read the same on every host. */
export const RPM_ENV: Record<string, string> = { LC_ALL: 'C.UTF-8' };

/** Arguments that point rpm at the root's database. */
export function rpmRootArgs(root: string): string[] {
  return ['--root', root, '--dbpath', RPM_DBPATH];
}

/**
 * A HOME holding .rpmmacros that sets %_dbpath: the one macro file librpm reads from a
 * place we control without touching the host's /etc/rpm. dnf and yum accept no macro
 * options (--setopt sets dnf options, not rpm macros).
 */
export async function writeRpmMacros(
  home: string,
  spec?: Pick<ResolvedSpec, 'docs' | 'locales'>,
): Promise<void> {
  await mkdir(home, { recursive: true });
  await writeFile(join(home, '.rpmmacros'), renderRpmMacros(spec));
}

/**
 * %_dbpath, and for docs: false %_install_langs: message catalogues of the spec's locales only
 * ("C" keeps none; rpm takes a colon-separated list).
 */
export function renderRpmMacros(spec?: Pick<ResolvedSpec, 'docs' | 'locales'>): string {
  const lines = [`%_dbpath ${RPM_DBPATH}`];
  if (spec && !spec.docs) lines.push(`%_install_langs ${spec.locales.length ? spec.locales.join(':') : 'C'}`);
  return lines.join('\n') + '\n';
}

/** Creates the root's rpm database unless it has one (VIC's setup_pm does the same). */
export async function initRpmDb(ctx: PmContext): Promise<void> {
  const dbDir = join(ctx.rootfs, RPM_DBPATH);
  if (await exists(join(dbDir, 'rpmdb.sqlite'))) return;
  if (await exists(join(dbDir, 'Packages'))) return;
  await mkdir(dbDir, { recursive: true });
  await ctx.run('rpm', [...rpmRootArgs(ctx.rootfs), '--initdb'], { stage: ctx.stage, env: RPM_ENV });
}

/**
 * Imports the repo folder's GPG keys into the root's database, so a repo with gpgcheck=1
 * verifies against them whatever its gpgkey= says (a gpgkey= path would be read on the
 * host, not in the root). The keys are also kept in /etc/pki/rpm-gpg for the image's own use.
 */
export async function importGpgKeys(ctx: PmContext, keys: readonly string[]): Promise<void> {
  if (!keys.length) return;
  const keyDir = join(ctx.rootfs, 'etc/pki/rpm-gpg');
  await mkdir(keyDir, { recursive: true });
  for (const key of keys) {
    await copyFile(key, join(keyDir, basename(key)));
    await ctx.run('rpm', [...rpmRootArgs(ctx.rootfs), '--import', key], { stage: ctx.stage, env: RPM_ENV });
  }
}

/**
 * rpm keeps its sqlite database in WAL mode and a read-only last user (dnf clean all, rpm -q)
 * leaves the -wal and -shm files behind. An empty -wal holds nothing, and -shm is only an
 * index of it, different on every run: both go, so two builds leave the same bytes.
 */
export async function dropEmptyWal(rootfs: string): Promise<void> {
  const db = join(rootfs, RPM_DBPATH, 'rpmdb.sqlite');
  let walSize: number;
  try {
    walSize = (await stat(`${db}-wal`)).size;
  } catch {
    return;
  }
  if (walSize !== 0) return;
  await rm(`${db}-wal`, { force: true });
  await rm(`${db}-shm`, { force: true });
}

export function describeRpmDb(keys: readonly string[]): string[] {
  const root = ['--root', '$ROOTFS', '--dbpath', RPM_DBPATH];
  return [
    ['rpm', ...root, '--initdb'].join(' '),
    ...keys.map((k) => ['rpm', ...root, '--import', k].join(' ')),
  ];
}
