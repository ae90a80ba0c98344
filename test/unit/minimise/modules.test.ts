import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { driverModulePaths } from '../../../src/minimise/modules.js';
import { expandRequirement } from '../../../src/minimise/minimise-root.js';

describe('driver modules and init requirements', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'isobuild-modules-'));
    const mods = join(root, 'usr/lib/modules/6.1.0-1-cloud-amd64');
    await mkdir(mods, { recursive: true });
    await symlink('usr/lib', join(root, 'lib'));
    await writeFile(
      join(mods, 'modules.dep'),
      [
        'kernel/net/netfilter/xt_state.ko: kernel/net/netfilter/nf_conntrack.ko kernel/net/netfilter/x_tables.ko',
        'kernel/net/netfilter/nf_conntrack.ko: kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko',
        'kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko:',
        'kernel/net/netfilter/x_tables.ko:',
        'kernel/drivers/block/virtio_blk.ko.xz:',
      ].join('\n') + '\n',
    );
    await mkdir(join(root, 'usr/sbin'), { recursive: true });
    await writeFile(join(root, 'usr/sbin/modprobe'), '');
    await mkdir(join(root, 'etc/isobuild/sub'), { recursive: true });
    await writeFile(join(root, 'etc/isobuild/sub/x'), '');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("adds each driver's module and its modules.dep closure, by name or path", async () => {
    const base = '/lib/modules/6.1.0-1-cloud-amd64/kernel';
    expect(
      await driverModulePaths(root, '6.1.0-1-cloud-amd64', ['xt_state', 'virtio-blk', 'not_there']),
    ).toEqual([
      `${base}/drivers/block/virtio_blk.ko.xz`,
      `${base}/net/ipv4/netfilter/nf_defrag_ipv4.ko`,
      `${base}/net/netfilter/nf_conntrack.ko`,
      `${base}/net/netfilter/x_tables.ko`,
      `${base}/net/netfilter/xt_state.ko`,
    ]);
    expect(await driverModulePaths(root, undefined, ['xt_state'])).toEqual([]);
  });

  it('expands init requirements: commands on PATH, folders to everything under them', async () => {
    expect(await expandRequirement(root, 'modprobe', '/usr/local/sbin:/usr/sbin:/sbin')).toEqual([
      '/usr/sbin/modprobe',
    ]);
    expect(await expandRequirement(root, 'blkid', '/usr/sbin')).toEqual([]);
    expect(await expandRequirement(root, '/etc/isobuild', '')).toEqual([
      '/etc/isobuild',
      '/etc/isobuild/sub',
      '/etc/isobuild/sub/x',
    ]);
  });
});
