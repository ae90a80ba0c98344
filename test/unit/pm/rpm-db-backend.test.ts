import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { matchRootRpmBackend, rootRpmBackend } from '../../../src/pm/rpm-db.js';
import type { PmContext } from '../../../src/pm/types.js';
import { makeSpec, recordingLogger } from '../../helpers/stage-context.js';

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
    expect(await matchRootRpmBackend(ctxFor(none).ctx)).toBeUndefined();
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
});
