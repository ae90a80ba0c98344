import { fileURLToPath } from 'node:url';
import { readModuleIndex, type ModuleIndex } from '../../../src/drivers/module-index.js';
import { closeOverDependencies, planDrivers, resolveDriver } from '../../../src/drivers/resolve.js';

const FIXTURE_ROOT = fileURLToPath(new URL('../../fixtures/kernel-root/', import.meta.url));

describe('driver resolution', () => {
  let index: ModuleIndex;
  beforeAll(async () => {
    index = await readModuleIndex(FIXTURE_ROOT, '6.1.0-test');
  });

  it.each([
    ['virtio_blk', { kind: 'module', modules: ['virtio_blk'] }],
    ['virtio-blk', { kind: 'module', modules: ['virtio_blk'] }],
    ['unused_dev', { kind: 'module', modules: ['unused_dev'] }],
    ['ext4', { kind: 'builtin' }],
    ['ata-piix', { kind: 'builtin' }],
    ['fs-nfs3', { kind: 'module', modules: ['nfsv3'] }],
    ['fs-ext4', { kind: 'builtin' }],
    ['scsi:t-0x07', { kind: 'module', modules: ['sd_mod'] }],
    ['nf_conntrack_ipv4', { kind: 'missing' }],
    // An alias naming a module the kernel does not ship is as missing as no alias at all.
    ['net-pf-16-proto-12', { kind: 'missing' }],
  ])('resolves %s', (name, expected) => {
    expect(resolveDriver(index, name)).toEqual(expected);
  });

  it('orders modules dependencies first, each once', () => {
    const plan = planDrivers(index, [
      { name: 'virtio_blk', source: 'common' },
      { name: 'virtio_pci', source: 'common' },
      { name: 'iptable_filter', source: 'common' },
      { name: 'ipt_REJECT', source: 'common' },
      { name: 'nfsv3', source: 'repo' },
    ]);
    expect(plan.loadOrder).toEqual([
      'virtio_ring',
      'virtio',
      'virtio_blk',
      'virtio_pci_modern_dev',
      'virtio_pci',
      'x_tables',
      'ip_tables',
      'iptable_filter',
      'nf_reject_ipv4',
      'ipt_REJECT',
      'lockd',
      'nfs',
      'nfsv3',
    ]);
    for (const [i, m] of plan.loadOrder.entries())
      for (const dep of index.deps.get(m) ?? []) expect(plan.loadOrder.indexOf(dep)).toBeLessThan(i);
  });

  it('warns about common drivers the kernel lacks but fails on repo and spec ones', () => {
    const plan = planDrivers(index, [
      { name: 'nf_conntrack_ipv4', source: 'common' },
      { name: 'ext4', source: 'common' },
      { name: 'no_such_driver', source: 'repo' },
      { name: 'also-missing', source: 'spec' },
    ]);
    expect(plan.missingCommon).toEqual(['nf_conntrack_ipv4']);
    expect(plan.builtin).toEqual(['ext4']);
    expect(plan.missingRequired).toEqual([
      { name: 'no_such_driver', source: 'repo' },
      { name: 'also-missing', source: 'spec' },
    ]);
    expect(plan.loadOrder).toEqual([]);
  });

  it('keeps soft dependencies (through their aliases) in the closure', () => {
    expect([...closeOverDependencies(index, ['xfs'])].sort()).toEqual(['crc32c_generic', 'libcrc32c', 'xfs']);
    expect([...closeOverDependencies(index, ['nfsv3'])].sort()).toEqual(['lockd', 'nfs', 'nfsv3']);
  });
});
