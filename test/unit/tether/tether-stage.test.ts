import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from '../../../src/errors.js';
import { tetherStage } from '../../../src/stages/tether.js';
import { readTetherSize } from '../../../src/tether/bootstrap-layer.js';
import { initRequirements } from '../../../src/tether/requirements.js';
import { makeContext, makeSpec, recordingLogger, runStageWith } from '../../helpers/stage-context.js';

/** A root with nothing but a kernel's modules and the given stand-in commands: the init brings its own userland. */
async function makeFakeRoot(root: string, commands: readonly string[] = []): Promise<void> {
  await mkdir(join(root, 'usr', 'bin'), { recursive: true });
  await mkdir(join(root, 'lib', 'modules', '6.1.0-test', 'kernel'), { recursive: true });
  await writeFile(join(root, 'lib', 'modules', '6.1.0-test', 'kernel', 'a.ko'), 'x'.repeat(10000));
  for (const c of commands) {
    await writeFile(join(root, 'usr', 'bin', c), '#!/bin/sh\n');
    await chmod(join(root, 'usr', 'bin', c), 0o755);
  }
}

describe('tether stage (fake roots; the real boot is test/integration/tether-boot)', () => {
  let dir: string;
  let root: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-tether-'));
    root = join(dir, 'root');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('needs nothing from a root without init.sh; asks for bash when there is one', async () => {
    await makeFakeRoot(root);
    const ctx = makeContext({
      stage: 'tether',
      rootfs: root,
      tmpDir: dir,
      spec: makeSpec(),
      meta: { kernelVersion: '6.1.0-test' },
    });
    await runStageWith(tetherStage, ctx);
    expect((await lstat(join(root, 'usr/lib/isobuild/init/bin/busybox'))).isFile()).toBe(true);
    expect(await readlink(join(root, 'usr/lib/isobuild/init/bin/switch_root'))).toBe('busybox');
    expect(ctx.meta.initBusybox).toMatch(/^BusyBox v\d/);
    const initSh = join(dir, 'init.sh');
    await writeFile(initSh, 'install-entropy () { :; }\n');
    const withInit = makeContext({
      stage: 'tether',
      rootfs: root,
      tmpDir: dir,
      spec: makeSpec({ hooks: { init: initSh } }),
      meta: { kernelVersion: '6.1.0-test' },
    });
    const err = (await runStageWith(tetherStage, withInit).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(BuildError);
    expect(err.message).toContain("stage tether: the root has no bash, which runs the repo's init.sh");
  });

  it('ships a user tether, busybox and the init, links /init and sizes the tmpfs', async () => {
    await makeFakeRoot(root, []);
    const userTether = join(dir, 'tether-linux');
    await writeFile(userTether, 'y'.repeat(3 * 1024 * 1024));
    const logger = recordingLogger();
    const ctx = makeContext({
      stage: 'tether',
      rootfs: root,
      tmpDir: dir,
      logger,
      tether: userTether,
      spec: makeSpec(),
      meta: { kernelVersion: '6.1.0-test', drivers: ['virtio_blk'] },
    });
    await runStageWith(tetherStage, ctx);
    expect((await stat(join(root, 'usr/lib/isobuild/tether/bin/tether'))).size).toBe(3 * 1024 * 1024);
    expect((await stat(join(root, 'usr/lib/isobuild/init/bin/busybox'))).mode & 0o777).toBe(0o755);
    expect(await readlink(join(root, 'init'))).toBe('/bin/init');
    const init = await readFile(join(root, 'bin', 'init'), 'utf8');
    expect(init.split('\n')[0]).toBe('#!/usr/lib/isobuild/init/bin/busybox sh');
    expect(init).toContain('drivers="\n    virtio_blk\n"');
    expect(init).not.toContain('/etc/isobuild/init.sh');
    // busybox (~2 MiB) + 3 MiB tether + modules, a fifth more, 8 MiB headroom.
    const size = await readTetherSize(root, '/bin/init');
    expect(size).toBeGreaterThanOrEqual(14);
    expect(size).toBeLessThan(20);
    expect(ctx.meta.tetherSizeMiB).toBe(size);
    expect(logger.lines.some((l) => l.msg.includes(`/.tether tmpfs ${size} MiB`))).toBe(true);
  });

  it('writes the same bytes and fixed mtimes for the same inputs', async () => {
    const build = async (name: string) => {
      const r = join(dir, name);
      await makeFakeRoot(r, []);
      const ctx = makeContext({
        stage: 'tether',
        rootfs: r,
        tmpDir: dir,
        spec: makeSpec(),
        meta: { kernelVersion: '6.1.0-test', drivers: ['virtio_blk', 'nf_conntrack'] },
      });
      await runStageWith(tetherStage, ctx);
      return r;
    };
    const [a, b] = [await build('a'), await build('b')];
    for (const f of ['bin/init', 'usr/lib/isobuild/tether/bin/tether', 'usr/lib/isobuild/init/bin/busybox']) {
      expect(await readFile(join(a, f))).toEqual(await readFile(join(b, f)));
      expect((await stat(join(a, f))).mtimeMs).toBe(0);
    }
  });

  it('writes the default tether when none is given', async () => {
    await makeFakeRoot(root, []);
    const ctx = makeContext({
      stage: 'tether',
      rootfs: root,
      tmpDir: dir,
      spec: makeSpec(),
      meta: { kernelVersion: '6.1.0-test' },
    });
    await runStageWith(tetherStage, ctx);
    const tether = await readFile(join(root, 'usr/lib/isobuild/tether/bin/tether'), 'utf8');
    expect(tether).toContain('ISOBUILD-BEGIN');
  });

  it('points /init at systemd for an appliance root and writes no tether', async () => {
    await mkdir(join(root, 'lib', 'systemd'), { recursive: true });
    await writeFile(join(root, 'lib', 'systemd', 'systemd'), '');
    const ctx = makeContext({
      stage: 'tether',
      rootfs: root,
      tmpDir: dir,
      target: 'appliance',
      spec: makeSpec({ init: '/lib/systemd/systemd' }),
    });
    await runStageWith(tetherStage, ctx);
    expect(await readlink(join(root, 'init'))).toBe('/lib/systemd/systemd');
    // No init layer and no tether: only the first-boot script, and its unit wanted by sysinit.target.
    expect(await readdir(join(root, 'usr/lib/isobuild'))).toEqual(['firstboot']);
    expect(
      await readlink(join(root, 'etc/systemd/system/sysinit.target.wants/isobuild-firstboot.service')),
    ).toBe('../isobuild-firstboot.service');
  });

  it('boots an appliance with systemd even when the repo names the bootstrap init (VIC)', async () => {
    await mkdir(join(root, 'usr', 'lib', 'systemd'), { recursive: true });
    await symlink('usr/lib', join(root, 'lib'));
    await writeFile(join(root, 'usr', 'lib', 'systemd', 'systemd'), '');
    const ctx = makeContext({
      stage: 'tether',
      rootfs: root,
      tmpDir: dir,
      target: 'appliance',
      spec: makeSpec(),
    });
    await runStageWith(tetherStage, ctx);
    expect(await readlink(join(root, 'init'))).toBe('/lib/systemd/systemd');
    expect(await readdir(join(root, 'usr/lib/isobuild'))).toEqual(['firstboot']);
    expect(initRequirements(ctx.plan)).toEqual(['/lib/systemd/systemd']);
  });

  it('a bootstrap booting systemd starts the tether as tether.service in vic.target (VIC)', async () => {
    await makeFakeRoot(root);
    await mkdir(join(root, 'lib', 'systemd'), { recursive: true });
    await writeFile(join(root, 'lib', 'systemd', 'systemd'), '');
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc', 'initrd-release'), '');
    const ctx = makeContext({
      stage: 'tether',
      rootfs: root,
      tmpDir: dir,
      spec: makeSpec({ init: '/lib/systemd/systemd', profile: 'vic' }),
      meta: { kernelVersion: '6.1.0-test' },
    });
    await runStageWith(tetherStage, ctx);
    expect(await readlink(join(root, 'init'))).toBe('/lib/systemd/systemd');
    const unit = await readFile(join(root, 'etc/systemd/system/tether.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/lib/isobuild/init/bootstrap');
    expect(unit).toContain('TTYPath=/dev/ttyS1');
    expect(await readlink(join(root, 'etc/systemd/system/default.target'))).toBe('vic.target');
    expect(await readlink(join(root, 'etc/systemd/system/vic.target.wants/tether.service'))).toBe(
      '../tether.service',
    );
    await expect(lstat(join(root, 'etc/initrd-release'))).rejects.toThrow();
    const init = await readFile(join(root, 'usr/lib/isobuild/init/bootstrap'), 'utf8');
    expect(init).toContain('exec systemctl switch-root "$MOUNTPOINT" /.tether/tether');
    // systemd mounted the API file systems: only a /dev that is not devtmpfs yet gets one.
    expect(init).not.toContain('mount -t proc');
    expect(init).toContain("grep -q '^[^ ]* /dev devtmpfs ' /proc/mounts || mount -t devtmpfs");
    expect(initRequirements(ctx.plan)).toEqual(
      expect.arrayContaining(['/lib/systemd/systemd', '/usr/lib/isobuild/init']),
    );
  });

  it('a bootstrap booting SysV /sbin/init starts the tether from an rc script and inittab', async () => {
    await makeFakeRoot(root);
    await mkdir(join(root, 'sbin'), { recursive: true });
    await writeFile(join(root, 'sbin', 'init'), 'sysvinit');
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc', 'inittab'), 'id:3:initdefault:\nsi::sysinit:/etc/init.d/rcS\n');
    const ctx = makeContext({
      stage: 'tether',
      rootfs: root,
      tmpDir: dir,
      spec: makeSpec({ init: '/sbin/init' }),
      meta: { kernelVersion: '6.1.0-test' },
    });
    await runStageWith(tetherStage, ctx);
    expect(await readFile(join(root, 'sbin', 'init'), 'utf8')).toBe('sysvinit');
    expect(await readlink(join(root, 'init'))).toBe('/sbin/init');
    expect(await readFile(join(root, 'etc/init.d/tether'), 'utf8')).toContain(
      'start) /usr/lib/isobuild/init/bootstrap </dev/console >/dev/console 2>&1 &',
    );
    // The root's multi-user runlevel stays; the tether starts once after its rc scripts.
    expect(await readFile(join(root, 'etc/inittab'), 'utf8')).toBe(
      'id:3:initdefault:\nsi::sysinit:/etc/init.d/rcS\ntt:2345:once:/etc/init.d/tether start\n',
    );
    // A single-user default (sulogin would wait for a password) becomes runlevel 2.
    await writeFile(join(root, 'etc', 'inittab'), 'id:1:initdefault:\n');
    await runStageWith(tetherStage, ctx);
    expect(await readFile(join(root, 'etc/inittab'), 'utf8')).toBe(
      '# isobuild: multi-user runlevel 2 (the root named none, or single-user).\nid:2:initdefault:\ntt:2345:once:/etc/init.d/tether start\n',
    );
    const init = await readFile(join(root, 'usr/lib/isobuild/init/bootstrap'), 'utf8');
    expect(init).toContain('exec chroot "$MOUNTPOINT" /.tether/bin/tether');
  });

  it('fails when the systemd the spec names is not in the root', async () => {
    await mkdir(root);
    const ctx = makeContext({
      stage: 'tether',
      rootfs: root,
      tmpDir: dir,
      spec: makeSpec({ init: '/lib/systemd/systemd' }),
    });
    await expect(runStageWith(tetherStage, ctx)).rejects.toThrow(/the root has no \/lib\/systemd\/systemd/);
  });

  it('lists what the init needs for the minimiser', () => {
    const plan = makeContext({ stage: 'tether', rootfs: root, tmpDir: dir, spec: makeSpec() }).plan;
    expect(initRequirements(plan)).toEqual(
      expect.arrayContaining(['/usr/lib/isobuild/init', '/lib/modules']),
    );
    expect(initRequirements(plan)).not.toContain('bash');
    const appliance = makeContext({
      stage: 'tether',
      rootfs: root,
      tmpDir: dir,
      target: 'appliance',
      spec: makeSpec({ init: '/lib/systemd/systemd' }),
    });
    expect(initRequirements(appliance.plan)).toEqual(['/lib/systemd/systemd']);
  });
});
