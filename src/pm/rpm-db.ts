import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ResolvedSpec } from '../spec/types.js';
import type { PmContext } from './types.js';
import { exists } from '../fs/exists.js';
import { BuildError } from '../errors.js';
import { tail } from '../exec/run.js';
import { resolveInRoot } from '../rootfs/root-path.js';
import { describeRootRpm, findRootRpmProgram, type RootRpmProgram } from './root-rpm.js';

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

/** Where an rpm reads its macros, in the order later definitions win. */
const ROOT_MACRO_FILES = ['/usr/lib/rpm/macros', '/usr/lib/rpm/macros.d', '/etc/rpm'];

/** The root's rpm macro files (host paths), in the order rpm reads them. */
async function listRootMacroFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const path of ROOT_MACRO_FILES) {
    const host = await resolveInRoot(root, path).catch(() => undefined);
    if (!host) continue;
    const st = await stat(host).catch(() => undefined);
    if (st?.isFile()) out.push(host);
    else if (st?.isDirectory())
      out.push(
        ...(await readdir(host))
          .filter((n) => n.startsWith('macros'))
          .sort()
          .map((n) => join(host, n)),
      );
  }
  return out;
}

/**
 * The database backend the root's rpm is configured for: the last %_db_backend in its macro
 * files; macros without one predate the setting (rpm 4.15 and older) and know only bdb.
 * Undefined when it cannot be known: a root with neither an rpm of its own nor rpm's macros.
 */
export async function rootRpmBackend(root: string, program?: RootRpmProgram): Promise<string | undefined> {
  const files = await listRootMacroFiles(root);
  if (!files.length && (program ?? (await findRootRpmProgram(root))).kind !== 'real') return undefined;
  let backend = 'bdb';
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const m of text.matchAll(/^%_db_backend\s+(\S+)\s*$/gm)) backend = m[1]!;
  }
  return backend;
}

/** The backend the host's rpm writes (Debian's: sqlite). */
export async function hostRpmBackend(run: PmContext['run']): Promise<string> {
  return (await run('rpm', ['--eval', '%_db_backend'], { env: RPM_ENV })).stdout.trim();
}

/**
 * The host's rpm wrote the database in its own backend; a root whose rpm is configured for
 * another (Photon 2's and CentOS's bdb) could not read it. So the root's own rpmdb rebuilds it,
 * in a sandbox of the root (mkosi does the same), and the log says so. A root without an rpm
 * of its own (none, or busybox's applet) gets the host's rpm instead: see convertWithHostRpm.
 */
export async function matchRootRpmBackend(ctx: PmContext): Promise<string | undefined> {
  const program = await findRootRpmProgram(ctx.rootfs);
  const wanted = await rootRpmBackend(ctx.rootfs, program);
  const written = await hostRpmBackend(ctx.run);
  if (program.kind !== 'real') return convertWithHostRpm(ctx, program, wanted, written);
  if (wanted === written) return undefined;
  const rpmdb = (await findRootRpmProgram(ctx.rootfs, 'rpmdb')).kind === 'real' ? 'rpmdb' : 'rpm';
  const args = [
    ...['--bind', ctx.rootfs, '/', '--dev', '/dev', '--proc', '/proc', '--die-with-parent', '--chdir', '/'],
    rpmdb,
    '--rebuilddb',
    '--dbpath',
    RPM_DBPATH,
  ];
  const res = await ctx.run('bwrap', args, {
    stage: ctx.stage,
    cleanEnv: true,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LC_ALL: 'C' },
    allowFailure: true,
  });
  if (res.exitCode !== 0)
    throw new BuildError(
      `the root's rpm is configured for the ${wanted} database backend and could not rebuild the ${written} ` +
        `database the host's rpm wrote:\n  $ ${res.command}\n${tail(res.all, 15).replace(/^/gm, '  ')}`,
      ctx.stage,
    );
  const note = `rpmdb: rebuilt ${RPM_DBPATH} with the root's own ${rpmdb} (${written} -> ${wanted}, the backend its macros select)`;
  ctx.logger.info(note);
  return note;
}

/** The file each backend keeps its packages in: proof that a rebuild wrote that backend. */
const BACKEND_FILES: Record<string, string> = { sqlite: 'rpmdb.sqlite', bdb: 'Packages', ndb: 'Packages.db' };

/**
 * A root with no rpm of its own: the host's rpm rebuilds the database in the backend the
 * root's macros select, on a copy, so a backend the host's rpm cannot write (Debian's writes
 * only sqlite; asked for another it falls back to an empty dummy database) leaves the root's
 * database as it was. Without macros nothing says which backend, and the host's stays.
 */
async function convertWithHostRpm(
  ctx: PmContext,
  program: RootRpmProgram,
  wanted: string | undefined,
  written: string,
): Promise<string | undefined> {
  const has = describeRootRpm(program);
  if (wanted === undefined) {
    const note = `rpmdb: the root has ${has} and no rpm macros that name a database backend; ${RPM_DBPATH} stays in the host's ${written} format`;
    ctx.logger.info(note);
    return note;
  }
  if (wanted === written) return undefined;
  await mkdir(ctx.tmpDir, { recursive: true });
  const scratch = await mkdtemp(join(ctx.tmpDir, 'rpmdb-'));
  try {
    const copy = join(scratch, RPM_DBPATH);
    const dbDir = join(ctx.rootfs, RPM_DBPATH);
    await cp(dbDir, copy, { recursive: true });
    const res = await ctx.run(
      'rpm',
      [...rpmRootArgs(scratch), '--define', `_db_backend ${wanted}`, '--rebuilddb'],
      {
        stage: ctx.stage,
        env: RPM_ENV,
        allowFailure: true,
      },
    );
    const proof = BACKEND_FILES[wanted];
    const wrote =
      res.exitCode === 0 &&
      !/invalid %_db_backend|using dummy database/.test(res.all) &&
      (proof === undefined || (await exists(join(copy, proof))));
    if (!wrote) {
      const note =
        `rpmdb: the root has ${has}; its macros select the ${wanted} database backend, which the host's rpm ` +
        `cannot write, so ${RPM_DBPATH} stays in the host's ${written} format:\n  $ ${res.command}\n` +
        tail(res.all, 5).replace(/^/gm, '  ');
      ctx.logger.warn(note);
      return note;
    }
    await rm(dbDir, { recursive: true, force: true });
    await cp(copy, dbDir, { recursive: true });
    const note = `rpmdb: rebuilt ${RPM_DBPATH} with the host's rpm (${written} -> ${wanted}, the backend the root's macros select; the root has ${has})`;
    ctx.logger.info(note);
    return note;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
