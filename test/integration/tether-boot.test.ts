import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/run.js';
import { makeOnce, testCacheRoot } from '../helpers/test-cache.js';
import { readDriversArray } from '../../src/spec/drivers-array.js';
import { driversStage } from '../../src/stages/drivers.js';
import { tetherStage } from '../../src/stages/tether.js';
import { readTetherSize } from '../../src/tether/bootstrap-layer.js';
import { makeContext, makeSpec, recordingLogger, runStageWith } from '../helpers/stage-context.js';

/**
 * The drivers and tether stages on a real Debian 12 root (mmdebstrap; the tarball is cached
 * between runs in the test cache), then a real boot: the root cpio'd into an
 * initrd, qemu (TCG) with a containerfs disk holding /.isobuild/command. The initrd/ISO writer is
 * another stage's, so this test packs its own initrd the simple way.
 */
const INIT_SH = fileURLToPath(new URL('../../repos/debian-12/init.sh', import.meta.url));
const PACKAGES = 'bash,busybox,kmod,iptables,haveged,util-linux,mount,linux-image-cloud-amd64';
const COMMAND = `cut -d" " -f1 /proc/modules; ps; /.tether/bin/iptables-wrapper -L -v\n`;

async function debianRootTarball(): Promise<string> {
  const key = createHash('sha256').update(PACKAGES).digest('hex').slice(0, 12);
  return makeOnce(join(testCacheRoot(), 'tether-test', `debian-12-${key}.tar`), async (partial) => {
    // The host's apt sources (deb822 or one-line) on stdin: mmdebstrap's "-" mirror.
    const deb822 = '/etc/apt/sources.list.d/debian.sources';
    const sources = await readFile(existsSync(deb822) ? deb822 : '/etc/apt/sources.list', 'utf8');
    await run(
      'mmdebstrap',
      ['--variant=minbase', '--format=tar', `--include=${PACKAGES}`, 'bookworm', partial, '-'],
      { input: sources },
    );
  });
}

describe('tether stage on a Debian 12 root, booted in qemu', () => {
  let dir: string;
  let root: string;
  let logger: ReturnType<typeof recordingLogger>;
  let meta: Record<string, unknown>;
  let serial = '';

  beforeAll(
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'isobuild-tether-boot-'));
      root = join(dir, 'root');
      await mkdir(root);
      await run('tar', ['-C', root, '-xf', await debianRootTarball()]);
      logger = recordingLogger();
      const repoDrivers = readDriversArray(await readFile(INIT_SH, 'utf8')).drivers;
      const spec = makeSpec({
        hooks: { init: INIT_SH },
        drivers: { common: true, repo: repoDrivers, spec: [] },
        modules: process.env.ISOBUILD_TEST_MODULES === 'all' ? 'all' : 'drivers',
        repoDir: join(INIT_SH, '..'),
      });
      meta = {};
      for (const stage of [driversStage, tetherStage]) {
        const tmp = join(dir, `tmp-${stage.name}`);
        await mkdir(tmp);
        await runStageWith(
          stage,
          makeContext({ stage: stage.name, rootfs: root, tmpDir: tmp, spec, meta, logger }),
        );
      }

      // Pack the initrd (the root, kernel excluded, as the initrd stage would) and a containerfs disk.
      const boot = join(root, 'boot');
      const kernel = join(dir, 'vmlinuz');
      await rename(join(boot, (await readdir(boot)).find((f) => f.startsWith('vmlinuz-'))!), kernel);
      await rm(boot, { recursive: true });
      await mkdir(boot);
      const files = (await run('find', ['.', '-mindepth', '1'], { cwd: root })).stdout
        .split('\n')
        .filter(Boolean)
        .sort();
      await run('cpio', ['-o', '-H', 'newc', '-R', '0:0', '--quiet', '-F', join(dir, 'initrd.cpio')], {
        cwd: root,
        input: files.join('\n') + '\n',
      });
      await run('zstd', ['-q', '-T0', '--rm', join(dir, 'initrd.cpio'), '-o', join(dir, 'initrd.img')]);
      const container = join(dir, 'container');
      await mkdir(join(container, '.isobuild'), { recursive: true });
      await writeFile(join(container, '.isobuild', 'command'), COMMAND);
      await run('mkfs.ext4', ['-q', '-d', container, '-L', 'containerfs', join(dir, 'disk.img'), '64M']);

      const res = await run(
        'qemu-system-x86_64',
        [
          '-accel',
          'tcg',
          '-m',
          '1024',
          '-nographic',
          '-no-reboot',
          '-nodefaults',
          '-serial',
          'stdio',
          '-kernel',
          kernel,
          '-initrd',
          join(dir, 'initrd.img'),
          '-append',
          'console=tty0 console=ttyS0,115200 panic=-1 isobuild.wait=120',
          '-drive',
          `file=${join(dir, 'disk.img')},format=raw,if=virtio`,
        ],
        { timeoutMs: 15 * 60 * 1000, allowFailure: true },
      );
      serial = res.all;
      // Opt-in copy of the console for looking at the init's timings.
      if (process.env.ISOBUILD_SERIAL_LOG) await writeFile(process.env.ISOBUILD_SERIAL_LOG, serial);
    },
    30 * 60 * 1000,
  );

  afterAll(async () => {
    // Opt-in: keep the kernel, initrd and disk to boot by hand (isobuild.debug, isobuild.end=shell).
    const keep = process.env.ISOBUILD_TEST_KEEP;
    if (keep && dir) {
      await mkdir(keep, { recursive: true });
      for (const f of ['vmlinuz', 'initrd.img', 'disk.img']) await rename(join(dir, f), join(keep, f));
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('resolved the drivers, pruned the modules and sized the tether tmpfs', async () => {
    expect(meta.drivers).toEqual(
      expect.arrayContaining(['virtio_blk', 'virtio_pci', 'iptable_filter', 'nf_conntrack']),
    );
    expect(logger.lines.some((l) => /module payload [\d.]+ MiB/.test(l.msg))).toBe(true);
    expect(await readTetherSize(root, '/bin/init')).toBeGreaterThan(8);
  });

  it('boots, runs the command between the markers and powers off', () => {
    if (!serial.includes('ISOBUILD-EXIT 0')) console.log(serial.slice(-6000));
    expect(serial).toMatch(/ISOBUILD-BEGIN[\s\S]*ISOBUILD-EXIT 0/);
  });

  it('loaded the drivers (VIC check: cut -d" " -f1 /proc/modules)', () => {
    const out = serial.slice(serial.indexOf('ISOBUILD-BEGIN'));
    for (const m of ['virtio_blk', 'iptable_filter', 'nf_conntrack', 'xt_state'])
      expect(out).toMatch(new RegExp(`^${m}\\r?$`, 'm'));
  });

  it('runs the entropy daemon from entropy.txt (VIC check: ps)', () => {
    expect(serial).toContain(
      '/.tether/lib64/ld-linux-x86-64.so.2 --library-path /.tether/lib64 /.tether/bin/haveged -w 1024 -v 1 -F',
    );
  });

  it("set VIC's firewall (VIC check: iptables-wrapper -L -v)", () => {
    expect(serial).toMatch(/Chain INPUT \(policy DROP/);
    expect(serial).toMatch(/Chain VIC \(2 references\)/);
    expect(serial).toMatch(/ACCEPT +all +-- +lo +any/);
  });
});
