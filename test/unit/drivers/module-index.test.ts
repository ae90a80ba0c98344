import { fileURLToPath } from 'node:url';
import {
  moduleNameFromPath,
  normaliseModuleName,
  parseModulesAlias,
  parseModulesSoftdep,
  readModuleIndex,
} from '../../../src/drivers/module-index.js';

const FIXTURE_ROOT = fileURLToPath(new URL('../../fixtures/kernel-root/', import.meta.url));

describe('module index', () => {
  it('normalises names as kmod does (dash and underscore are one)', () => {
    expect(normaliseModuleName('virtio-blk')).toBe('virtio_blk');
    expect(moduleNameFromPath('kernel/drivers/unused/unused-dev.ko.xz')).toBe('unused_dev');
    expect(moduleNameFromPath('kernel/fs/ext4/ext4.ko')).toBe('ext4');
    expect(moduleNameFromPath('updates/foo.ko.zst')).toBe('foo');
  });

  it('reads modules.dep, modules.builtin, both alias files and modules.softdep of a kernel', async () => {
    const index = await readModuleIndex(FIXTURE_ROOT, '6.1.0-test');
    expect(index.files.get('virtio_blk')).toBe('kernel/drivers/block/virtio_blk.ko.xz');
    expect(index.deps.get('virtio_pci')).toEqual(['virtio_pci_modern_dev', 'virtio_ring', 'virtio']);
    expect(index.files.has('unused_dev')).toBe(true);
    expect([...index.builtin].sort()).toEqual(['ata_piix', 'ext4', 'mbcache']);
    expect(index.aliases).toContainEqual({ pattern: 'fs_ext4', module: 'ext4' });
    expect(index.softdeps.get('xfs')).toEqual(['crc32c']);
  });

  it('parses alias lines and skips comments', () => {
    expect(parseModulesAlias('# comment\nalias fs-nfs3 nfsv3\nalias pci:v*d* some-mod\n')).toEqual([
      { pattern: 'fs_nfs3', module: 'nfsv3' },
      { pattern: 'pci:v*d*', module: 'some_mod' },
    ]);
  });

  it('parses both softdep forms (with and without pre:/post:)', () => {
    const soft = parseModulesSoftdep(
      'softdep xfs pre: crc32c post: foo\nsoftdep cifs gcm\nsoftdep cifs ccm\n',
    );
    expect(soft.get('xfs')).toEqual(['crc32c', 'foo']);
    expect(soft.get('cifs')).toEqual(['gcm', 'ccm']);
  });
});
