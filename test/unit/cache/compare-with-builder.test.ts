import { compareWithBuilder } from '../../../src/cache/remote/stage-artifact.js';
import type { Manifest, ManifestEntry } from '../../../src/cache/cache-integrity.js';

// A pulled entry is checked against the manifest its builder committed: everything but mtimes,
// which the archives clamp.
const file = (path: string, digest: string, mtime = '1'): ManifestEntry => [
  path,
  'f',
  0o644,
  0,
  0,
  3,
  mtime,
  digest,
];
const manifest = (rootfs: Manifest['trees']['rootfs'], artifacts: ManifestEntry[]): Manifest => ({
  format: 'isobuild-cache-manifest/1',
  stage: 'tether',
  key: 'k',
  meta: 'm',
  trees: { rootfs, bootfs: { entries: [] }, artifacts: { entries: artifacts } },
});

test('the same entries with other mtimes match', () => {
  const builder = manifest({ entries: [file('etc/a', 'd1', '1700000000123456789')] }, [
    file('initrd.img', 'd2'),
  ]);
  const pulled = manifest({ entries: [file('etc/a', 'd1', '0')] }, [file('initrd.img', 'd2', '0')]);
  expect(compareWithBuilder(builder, pulled)).toEqual([]);
});

test('a changed digest, owner or mode, a missing or an extra file are each named', () => {
  const builder = manifest({ entries: [file('etc/a', 'd1'), file('etc/b', 'd2'), file('etc/c', 'd3')] }, []);
  const owned: ManifestEntry = ['etc/c', 'f', 0o644, 1000, 0, 3, '1', 'd3'];
  const pulled = manifest({ entries: [file('etc/a', 'XX'), owned, file('etc/z', 'd4')] }, []);
  expect(compareWithBuilder(builder, { ...pulled, meta: 'other' })).toEqual([
    'meta.json differs',
    'rootfs/etc/a: differs',
    'rootfs/etc/b: missing',
    'rootfs/etc/c: differs',
    "rootfs/etc/z: not in the builder's entry",
  ]);
});

test('a tree the builder shared with its parent is not compared (its layer digest was)', () => {
  const builder = manifest({ link: '../tether-k/rootfs' }, [file('image.iso', 'd')]);
  const pulled = manifest({ entries: [file('anything', 'x')] }, [file('image.iso', 'd')]);
  expect(compareWithBuilder(builder, pulled)).toEqual([]);
});
