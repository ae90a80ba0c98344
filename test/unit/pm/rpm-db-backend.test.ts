import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
  copyFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { matchRootRpmBackend, rootRpmBackend } from '../../../src/pm/rpm-db.js';
import { findRootRpmProgram } from '../../../src/pm/root-rpm.js';
import type { PmContext } from '../../../src/pm/types.js';
import { makeSpec, recordingLogger } from '../../helpers/stage-context.js';

const KEY = fileURLToPath(new URL('../../../repos/photon-2.0/VMWARE-RPM-GPG-KEY', import.meta.url));

/**
 * The root's rpm database in the root's own backend. Debian's rpm writes only sqlite (it reads
 * bdb read-only and has no ndb), so no real rpm here could write another backend: the root's
 * rpmdb is a stub (a busybox sh script, mocked for that reason) that records its arguments;
 * the sandbox, the macro reading and the host's rpm --eval are real.
 */
async function makeRoot(root: string, o: { macros?: Record<string, string>; rpmdb?: string }) {
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin/busybox'));
  await symlink('busybox', join(root, 'bin/sh'));
  for (const [path, text] of Object.entries(o.macros ?? {})) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  if (o.rpmdb !== undefined) {
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    for (const tool of ['rpm', 'rpmdb']) {
      await writeFile(join(root, 'usr/bin', tool), `#!/bin/sh\n${o.rpmdb}\n`);
      await chmod(join(root, 'usr/bin', tool), 0o755);
    }
  }
}

describe("rpmdb in the root's own backend", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-rpmdb-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const ctxFor = (rootfs: string) => {
    const logger = recordingLogger();
    const ctx: PmContext = {
      spec: makeSpec(),
      rootfs,
      pkgCacheDir: dir,
      tmpDir: dir,
      stage: 'iso-base',
      listsMaxAge: 0,
      logger,
      run: (file, args, opts) => run(file, args, { stage: 'iso-base', ...opts }),
    };
    return { ctx, logger };
  };
  const RECORD = 'echo "$0 $*" > /rebuilt-with; mkdir -p /var/lib/rpm; : > /var/lib/rpm/Packages';

  it("rebuilds with the root's rpmdb when its macros select bdb (the last %_db_backend wins)", async () => {
    const root = join(dir, 'photon');
    await makeRoot(root, {
      macros: {
        'usr/lib/rpm/macros': '%_dbpath /var/lib/rpm\n%_db_backend\t      sqlite\n',
        'etc/rpm/macros.db': '%_db_backend bdb\n',
      },
      rpmdb: RECORD,
    });
    expect(await rootRpmBackend(root)).toBe('bdb');
    const { ctx, logger } = ctxFor(root);
    expect(await matchRootRpmBackend(ctx)).toMatch(
      /rebuilt \/var\/lib\/rpm with the root's own rpmdb \(sqlite -> bdb/,
    );
    expect((await readFile(join(root, 'rebuilt-with'), 'utf8')).trim()).toBe(
      '/usr/bin/rpmdb --rebuilddb --dbpath /var/lib/rpm',
    );
    expect(logger.lines.some((l) => l.level === 'info' && l.msg.startsWith('rpmdb: rebuilt'))).toBe(true);
  });

  it('an rpm without %_db_backend is older than 4.16: bdb', async () => {
    const root = join(dir, 'centos');
    await makeRoot(root, { rpmdb: RECORD });
    expect(await rootRpmBackend(root)).toBe('bdb');
  });

  it("leaves the database alone when the root's backend is the host's, or the root has no rpm", async () => {
    const same = join(dir, 'same');
    await makeRoot(same, { macros: { 'usr/lib/rpm/macros': '%_db_backend sqlite\n' }, rpmdb: RECORD });
    expect(await matchRootRpmBackend(ctxFor(same).ctx)).toBeUndefined();
    await expect(readFile(join(same, 'rebuilt-with'))).rejects.toThrow();
    const none = join(dir, 'none');
    await makeRoot(none, {});
    expect(await rootRpmBackend(none)).toBeUndefined();
    expect(await matchRootRpmBackend(ctxFor(none).ctx)).toBe(
      "rpmdb: the root has no rpm and no rpm macros that name a database backend; /var/lib/rpm stays in the host's sqlite format",
    );
  });

  it("fails naming the backends, the command and its output when the root's rpm cannot", async () => {
    const root = join(dir, 'old');
    await makeRoot(root, {
      macros: { 'usr/lib/rpm/macros': '%_db_backend bdb\n' },
      rpmdb: 'echo "error: cannot open Packages index using db5" >&2; exit 1',
    });
    const err = (await matchRootRpmBackend(ctxFor(root).ctx).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(BuildError);
    expect(err.message).toContain(
      "stage iso-base: the root's rpm is configured for the bdb database backend and could not rebuild the sqlite database",
    );
    expect(err.message).toContain('rpmdb --rebuilddb --dbpath /var/lib/rpm');
    expect(err.message).toContain('error: cannot open Packages index using db5');
  });

  describe('a root without an rpm of its own (busybox only)', () => {
    /** A root holding the host's real sqlite database, as the package manager leaves it. */
    async function makeBusyboxRoot(name: string, o: { rpm?: 'applet' | 'copy'; macros?: string } = {}) {
      const root = join(dir, name);
      await makeRoot(root, o.macros ? { macros: { 'usr/lib/rpm/macros': o.macros } } : {});
      if (o.rpm === 'applet') await symlink('busybox', join(root, 'bin/rpm'));
      if (o.rpm === 'copy') await copyFile('/bin/busybox', join(root, 'bin/rpm'));
      await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '--initdb']);
      return root;
    }
    const dbFiles = async (root: string) => (await readdir(join(root, 'var/lib/rpm'))).sort();

    it("tells busybox's applet, a copy of busybox and a missing rpm from a real one, without running them", async () => {
      const applet = await makeBusyboxRoot('applet', { rpm: 'applet' });
      expect(await findRootRpmProgram(applet)).toEqual({
        kind: 'stand-in',
        path: '/bin/rpm',
        why: 'a link to /bin/busybox, whose applet is not rpm',
      });
      const copy = await makeBusyboxRoot('copy', { rpm: 'copy' });
      expect(await findRootRpmProgram(copy)).toMatchObject({
        kind: 'stand-in',
        why: 'a program that does not load librpm (a multi-call binary such as busybox)',
      });
      expect(await findRootRpmProgram(await makeBusyboxRoot('absent'))).toEqual({ kind: 'absent' });

      // The host's own rpm program, copied in: real once the root also has its librpm.
      const real = join(dir, 'real');
      await mkdir(join(real, 'usr/bin'), { recursive: true });
      await copyFile('/usr/bin/rpm', join(real, 'usr/bin/rpm'));
      expect(await findRootRpmProgram(real)).toMatchObject({
        kind: 'stand-in',
        why: 'linked with librpm.so.9, which the root does not have',
      });
      await mkdir(join(real, 'usr/lib64'), { recursive: true });
      await writeFile(join(real, 'usr/lib64/librpm.so.9'), '');
      expect(await findRootRpmProgram(real)).toEqual({ kind: 'real', path: '/usr/bin/rpm' });
    });

    it("keeps the host's format and says so when nothing in the root names a backend (rpm as busybox's applet)", async () => {
      const root = await makeBusyboxRoot('applet', { rpm: 'applet' });
      const before = await dbFiles(root);
      const { ctx, logger } = ctxFor(root);
      const note =
        'rpmdb: the root has no rpm of its own (/bin/rpm is a link to /bin/busybox, whose applet is not rpm) and ' +
        "no rpm macros that name a database backend; /var/lib/rpm stays in the host's sqlite format";
      expect(await matchRootRpmBackend(ctx)).toBe(note);
      expect(logger.lines).toContainEqual({ level: 'info', msg: note });
      expect(await dbFiles(root)).toEqual(before);
    });

    it("asks the host's rpm for the backend the root's macros select, on a copy, and keeps the database when it cannot write it (Debian's writes only sqlite)", async () => {
      const root = await makeBusyboxRoot('photon', { macros: '%_db_backend bdb\n' });
      expect(await rootRpmBackend(root)).toBe('bdb');
      const { ctx, logger } = ctxFor(root);
      const note = await matchRootRpmBackend(ctx);
      expect(note).toContain(
        "rpmdb: the root has no rpm; its macros select the bdb database backend, which the host's rpm cannot write, " +
          "so /var/lib/rpm stays in the host's sqlite format:",
      );
      expect(note).toContain('rpm --root ');
      expect(note).toContain("--define '_db_backend bdb' --rebuilddb");
      expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
      // The database is the one the host's rpm wrote, still readable.
      expect(await dbFiles(root)).toContain('rpmdb.sqlite');
      const qa = await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-qa']);
      expect(qa.exitCode).toBe(0);
    });

    it("rebuilds a copy with the host's rpm and puts it in place when the host's rpm can write the backend", async () => {
      // Debian's rpm writes only sqlite, so the host is made to say it writes ndb (an .rpmmacros
      // in a HOME of the test's, mocked for that reason) while the root's macros ask for sqlite.
      const root = await makeBusyboxRoot('fedora', { rpm: 'applet', macros: '%_db_backend sqlite\n' });
      await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '--import', KEY]);
      const inode = async () => (await stat(join(root, 'var/lib/rpm/rpmdb.sqlite'))).ino;
      const before = await inode();
      const home = join(dir, 'home');
      await mkdir(home);
      await writeFile(join(home, '.rpmmacros'), '%_db_backend ndb\n');
      const { ctx, logger } = ctxFor(root);
      const note = await matchRootRpmBackend({
        ...ctx,
        run: (file, args, opts) => ctx.run(file, args, { ...opts, env: { ...opts?.env, HOME: home } }),
      });
      expect(note).toBe(
        "rpmdb: rebuilt /var/lib/rpm with the host's rpm (ndb -> sqlite, the backend the root's macros select; " +
          'the root has no rpm of its own (/bin/rpm is a link to /bin/busybox, whose applet is not rpm))',
      );
      expect(logger.lines).toEqual([{ level: 'info', msg: note }]);
      const qa = await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME}\n']);
      expect(qa.stdout.trim()).toBe('gpg-pubkey');
      // The rebuilt copy, not the database the host's rpm wrote first.
      expect(await inode()).not.toBe(before);
      expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/^rpmdb-/));
    });

    it("leaves the database alone when the root's macros select the host's backend", async () => {
      const root = await makeBusyboxRoot('same', { rpm: 'applet', macros: '%_db_backend sqlite\n' });
      const { ctx, logger } = ctxFor(root);
      expect(await matchRootRpmBackend(ctx)).toBeUndefined();
      expect(logger.lines).toEqual([]);
    });
  });
});
