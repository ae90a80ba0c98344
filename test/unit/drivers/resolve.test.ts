import { fileURLToPath } from 'node:url';
import { readModuleIndex, type ModuleIndex } from '../../../src/drivers/module-index.js';
import { COMMON_DRIVERS } from '../../../src/drivers/common.js';
import {
  closeOverDependencies,
  planDrivers,
  resolveDriver,
  resolveRequest,
} from '../../../src/drivers/resolve.js';

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

  it('loads the first name of a renamed common driver the kernel has', () => {
    // The fixture is a 6.1 kernel: nf_nat and nf_conntrack, no nf_nat_ipv4 or nf_conntrack_ipv4.
    expect(resolveRequest(index, { name: 'nf_nat_ipv4', orElse: ['nf_nat'] })).toEqual({
      name: 'nf_nat',
      resolution: { kind: 'module', modules: ['nf_nat'] },
    });
    expect(resolveRequest(index, { name: 'nf_conntrack_ipv4', orElse: ['nf_conntrack'] }).name).toBe(
      'nf_conntrack',
    );
    // An old kernel that still has VIC's name gets VIC's name.
    const old: ModuleIndex = {
      ...index,
      files: new Map([...index.files, ['nf_nat_ipv4', 'kernel/net/ipv4/netfilter/nf_nat_ipv4.ko']]),
    };
    expect(resolveRequest(old, { name: 'nf_nat_ipv4', orElse: ['nf_nat'] }).name).toBe('nf_nat_ipv4');
    // None of the names: the request's own name is the one reported missing.
    expect(resolveRequest(index, { name: 'gone', orElse: ['also_gone'] })).toEqual({
      name: 'gone',
      resolution: { kind: 'missing' },
    });
  });

  it("finds every netfilter entry of VIC's common list in a 6.1 kernel, through the renames", () => {
    const requests = COMMON_DRIVERS.map(([name, ...orElse]) => ({ name, orElse, source: 'common' as const }));
    const plan = planDrivers(index, requests);
    // The fixture leaves out the VMware drivers and a few netfilter ones; none is a renamed entry.
    expect(plan.missingCommon).toEqual([
      'virtio_scsi',
      'vmw_pvscsi',
      'vmxnet3',
      'nfnetlink',
      'xt_conntrack',
      'iptable_nat',
      'xt_state',
    ]);
    expect(plan.loadOrder).toContain('nf_nat');
    expect(plan.loadOrder.indexOf('nf_conntrack')).toBeLessThan(plan.loadOrder.indexOf('nf_nat'));
  });

  it('keeps soft dependencies (through their aliases) in the closure', () => {
    expect([...closeOverDependencies(index, ['xfs'])].sort()).toEqual(['crc32c_generic', 'libcrc32c', 'xfs']);
    expect([...closeOverDependencies(index, ['nfsv3'])].sort()).toEqual(['lockd', 'nfs', 'nfsv3']);
  });
});
