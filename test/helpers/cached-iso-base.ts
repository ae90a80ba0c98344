import { cp, mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FORMAT } from '../../src/cache/cache-integrity.js';
import type { KernelSource } from '../../src/spec/types.js';

/** test/fixtures/kernel-root: a kernel 6.1.0-test with modules.dep, modules.builtin and aliases. */
export const KERNEL_FIXTURE_ROOT = fileURLToPath(new URL('../fixtures/kernel-root/', import.meta.url));

/**
 * An iso-base cache entry laid out by hand (no build: a cold iso-base takes minutes and the
 * mirror): the fixture kernel's root, meta.json with its version and a manifest recording which
 * kernel the spec named. `usedAt` sets the entry's last use (its folder's mtime).
 */
export async function makeCachedIsoBase(
  cache: string,
  repo: string,
  opts: { key: string; kernel?: KernelSource; usedAt?: Date; kernelVersion?: string },
): Promise<string> {
  const dir = join(cache, 'stages', repo, `iso-base-${opts.key}`);
  await mkdir(join(dir, 'bootfs'), { recursive: true });
  await mkdir(join(dir, 'artifacts'), { recursive: true });
  await cp(KERNEL_FIXTURE_ROOT, join(dir, 'rootfs'), { recursive: true });
  await writeFile(
    join(dir, 'meta.json'),
    JSON.stringify({ kernelVersion: opts.kernelVersion ?? '6.1.0-test' }),
  );
  if (opts.kernel)
    await writeFile(
      join(dir, 'manifest.json'),
      JSON.stringify({
        format: MANIFEST_FORMAT,
        stage: 'iso-base',
        key: opts.key,
        inputs: { values: { kernel: opts.kernel } },
      }),
    );
  if (opts.usedAt) await utimes(dir, opts.usedAt, opts.usedAt);
  return dir;
}
