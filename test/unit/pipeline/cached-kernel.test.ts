import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheLayout } from '../../../src/cache/cache.js';
import { findCachedKernel } from '../../../src/pipeline/cached-kernel.js';
import { makeCachedIsoBase } from '../../helpers/cached-iso-base.js';

const CLOUD = { kind: 'package', name: 'linux-image-cloud-amd64' } as const;

describe('findCachedKernel (iso-base entries laid out by hand, no build)', () => {
  let cache: string;
  beforeEach(async () => {
    cache = await mkdtemp(join(tmpdir(), 'isobuild-cached-kernel-'));
  });
  afterEach(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  it('knows no kernel when the repo has no iso-base entry', async () => {
    expect(await findCachedKernel(cacheLayout(cache), 'debian-12', CLOUD)).toBeUndefined();
  });

  it("reads the most recently used entry of the spec's kernel and skips another kernel's", async () => {
    const older = await makeCachedIsoBase(cache, 'debian-12', {
      key: 'a'.repeat(24),
      kernel: CLOUD,
      usedAt: new Date('2026-01-01T00:00:00Z'),
    });
    await makeCachedIsoBase(cache, 'debian-12', {
      key: 'b'.repeat(24),
      kernel: { kind: 'package', name: 'linux-image-rt-amd64' },
      usedAt: new Date('2026-03-01T00:00:00Z'),
    });
    const known = await findCachedKernel(cacheLayout(cache), 'debian-12', CLOUD);
    expect(known?.index.kernelVersion).toBe('6.1.0-test');
    expect(known?.index.files.has('nf_nat')).toBe(true);
    expect(known?.from).toBe(`modules.dep of the cached iso-base ${older}`);
    // Another repo's entries are not this repo's kernel.
    expect(await findCachedKernel(cacheLayout(cache), 'photon-2.0', CLOUD)).toBeUndefined();
  });

  it('skips an entry whose modules.dep is unreadable', async () => {
    await makeCachedIsoBase(cache, 'debian-12', {
      key: 'c'.repeat(24),
      kernel: CLOUD,
      kernelVersion: '9.9.9',
    });
    expect(await findCachedKernel(cacheLayout(cache), 'debian-12', CLOUD)).toBeUndefined();
  });
});
