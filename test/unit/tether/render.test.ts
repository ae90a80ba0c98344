import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InternalError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { READ_EXT4_LABEL_FN } from '../../../src/tether/init-layer.js';
import { precreateTetherCommand } from '../../../src/tether/layout.js';
import { assertShellWord, renderTemplate } from '../../../src/tether/render.js';

const INIT_DATA = {
  kernelVersion: '6.1.0-56-cloud-amd64',
  drivers: ['virtio_pci', 'virtio_blk', 'iptable_filter'],
  tetherSizeMb: 42,
  repoInit: '/etc/isobuild/init.sh',
  repoInstalls: '',
  initBusybox: '/usr/lib/isobuild/init/bin/busybox',
  initBinDir: '/usr/lib/isobuild/init/bin',
  labelReader: READ_EXT4_LABEL_FN,
  precreateTether: precreateTetherCommand('TETHER'),
  tetherBusybox: 'bin/busybox',
  containerMount: '/mnt/containerfs',
  containerLabel: 'containerfs',
  tetherDir: '/.tether',
  tetherSource: '/usr/lib/isobuild/tether',
  tetherBin: '/.tether/bin/tether',
  logDevice: '/dev/console',
  publishModules: true,
  asPid1: true,
  underSystemd: false,
  underSysv: false,
  serviceMode: 'pid1',
};

describe('init and tether templates', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-render-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renders the bootstrap init as valid busybox sh with the drivers, size and knobs', async () => {
    const script = await renderTemplate('init/bootstrap.sh.hbs', INIT_DATA);
    expect(script.startsWith('#!/usr/lib/isobuild/init/bin/busybox sh\n')).toBe(true);
    expect(script).toContain('drivers="\n    virtio_pci\n    virtio_blk\n    iptable_filter\n"');
    expect(script).toMatch(/^TETHER_SIZE_MB=42$/m);
    expect(script).toContain('isobuild-init /etc/isobuild/init.sh "$fn" "$TETHER"');
    expect(script).toContain(
      'mkdir -p "$TETHER/lib64" "$TETHER/usr/lib/iptables" "$TETHER/run" && { [ -L "$TETHER/lib" ] || ln -s lib64 "$TETHER/lib"; }',
    );
    for (const knob of ['isobuild.end=*', 'isobuild.debug', 'isobuild.wait=*'])
      expect(script).toContain(knob);
    expect(script).toContain('exec switch_root "$MOUNTPOINT" /.tether/bin/tether');
    expect(script).toContain('ipt -N VIC');
    await writeFile(join(dir, 'init'), script);
    await run('/bin/busybox', ['sh', '-n', join(dir, 'init')]);
  });

  it("copies the install functions' build-time output instead of running init.sh when the build kept it", async () => {
    const script = await renderTemplate('init/bootstrap.sh.hbs', {
      ...INIT_DATA,
      repoInit: '',
      repoInstalls: '/usr/lib/isobuild/tether-installs',
    });
    expect(script).toContain('cp -a /usr/lib/isobuild/tether-installs/. "$TETHER/"');
    expect(script).not.toContain('/etc/isobuild/init.sh');
    await writeFile(join(dir, 'init-installs'), script);
    await run('/bin/busybox', ['sh', '-n', join(dir, 'init-installs')]);
  });

  it('leaves out the repo hooks and module publishing when there are none', async () => {
    const script = await renderTemplate('init/bootstrap.sh.hbs', {
      ...INIT_DATA,
      repoInit: '',
      publishModules: false,
    });
    expect(script).not.toContain('/etc/isobuild/init.sh');
    expect(script).not.toContain('Publish the modules');
  });

  it('renders the default tether as valid busybox sh with the markers', async () => {
    const script = await renderTemplate('tether/tether.sh.hbs', { tetherDir: '/.tether' });
    expect(script.startsWith('#!/.tether/bin/busybox sh\n')).toBe(true);
    expect(script).toContain('echo ISOBUILD-BEGIN');
    expect(script).toContain('echo "ISOBUILD-EXIT $status"');
    expect(script).toContain('$BB sh /.isobuild/command');
    expect(script).toContain('/.tether/opt/config/entropy.txt');
    await writeFile(join(dir, 'tether'), script);
    await run('/bin/busybox', ['sh', '-n', join(dir, 'tether')]);
  });

  it('fails on a value the template needs but was not given', async () => {
    await expect(renderTemplate('tether/tether.sh.hbs', {})).rejects.toThrow(InternalError);
  });

  it('accepts plain words only for values spliced into scripts', () => {
    expect(assertShellWord('driver', 'nf_conntrack')).toBe('nf_conntrack');
    expect(assertShellWord('kernel version', '6.1.0-56-cloud-amd64')).toBe('6.1.0-56-cloud-amd64');
    expect(() => assertShellWord('driver', 'x; rm -rf /')).toThrow(
      /driver "x; rm -rf \/" is not a plain word/,
    );
    expect(() => assertShellWord('driver', '$(reboot)')).toThrow(InternalError);
  });
});
