import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';
import { makeBusyboxRoot } from '../../src/image/containerfs.js';
import { readIsoCmdline } from '../../src/image/qemu.js';
import { isoStage } from '../../src/stages/iso.js';
import { makeSpec, runStageWith } from '../helpers/stage-context.js';
import { checkCliBuilt, runCli } from '../unit/cli/run-cli.js';
import {
  addVirtioModules,
  cloudKernel,
  makeBootstrapImage,
  makeStageContext,
  type CloudKernel,
} from './boot-fixtures.js';

/**
 * `profile: vic`: the real tether, initrd and iso stages make a BIOS+UEFI ISO following VIC's
 * contract, then `isobuild run` (the CLI) boots it and reads the command's output from ttyS1,
 * where VIC's containerVMs log (ttyS0 is the tether's attach channel).
 */
const BOOT_MS = 300_000;

describe('profile: vic', () => {
  let dir: string;
  let kernel: CloudKernel;
  let iso: string;

  beforeAll(async () => {
    await checkCliBuilt();
    dir = await mkdtemp(join(tmpdir(), 'isobuild-vic-profile-'));
    kernel = await cloudKernel();
    const rootfs = join(dir, 'rootfs');
    await makeBusyboxRoot(rootfs);
    await addVirtioModules(rootfs, kernel);
    const spec = { profile: 'vic', version: 'v1.5.7-22' } as const;
    const image = await makeBootstrapImage({ dir, rootfs, kernel, spec });
    const ctx = await makeStageContext(
      'iso',
      { rootfs, bootfs: join(dir, 'bootfs'), artifacts: image.folder, tmpDir: join(dir, 'tmp-iso') },
      makeSpec({ init: '/bin/init', ...spec }),
      image.meta,
    );
    await mkdir(ctx.tmpDir, { recursive: true });
    await runStageWith(isoStage, ctx);
    iso = join(image.folder, 'image.iso');
  }, 2 * BOOT_MS);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("has VIC's publisher, file names and command line", async () => {
    const pvd = await run('xorriso', ['-indev', iso, '-pvd_info']);
    expect(pvd.all).toMatch(/^Publisher Id\s*:\s*VMware Inc\. v1\.5\.7-22\s*$/m);
    const files = await run('xorriso', ['-indev', iso, '-find', '/boot', '-type', 'f']);
    for (const f of ['/boot/vmlinuz64', '/boot/core.gz', '/boot/isolinux/boot.msg'])
      expect(files.all).toContain(`'${f}'`);
    expect(await readIsoCmdline(iso)).toBe(
      'loglevel=3 console=ttyS1,115200n8 console=tty0 nodhcp rcupdate.rcu_expedited=1 quiet noreplace-smp cpu_init_udelay=0 vsyscall=emulate',
    );
  });

  it(
    'isobuild run reads ttyS1: the tether is /.tether/tether (with unpack, tether-debug), modules published',
    async () => {
      const res = await runCli(
        [
          'run',
          '--memory',
          '512',
          '--timeout',
          String(BOOT_MS / 1000),
          iso,
          '--',
          'sh',
          '-c',
          'ls /.tether; ls /lib/modules; uname -r',
        ],
        dir,
      );
      expect(res.stderr).toBe('');
      const out = res.stdout.split('\n');
      const listing = out[0]!.split(/\s+/);
      for (const name of ['tether', 'unpack', 'tether-debug', 'bin', 'lib64'])
        expect(listing).toContain(name);
      expect(out.slice(1, 3)).toEqual([kernel.version, kernel.version]);
      expect(res.code).toBe(0);
    },
    BOOT_MS + 60_000,
  );
});
