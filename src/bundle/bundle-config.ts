import { BundleError } from '../errors.js';
import type { OutputDigest } from '../image/output-digest.js';
import { PACKAGE_MANAGERS } from '../pm/index.js';
import type { PackageManagerName } from '../spec/types.js';
import { TARGETS, type Target } from '../stage/types.js';

/** Bump when a bundle's layout or config changes so that older isobuilds cannot read it. */
export const BUNDLE_VERSION = 1;

/** The bundle's config blob: what to rebuild, and the outputs the rebuild must match. */
export interface BundleConfig {
  readonly bundleVersion: typeof BUNDLE_VERSION;
  /** The isobuild that wrote it (a rebuild with another one may give other bytes: it warns). */
  readonly isobuild: string;
  readonly repo: string;
  /** The repo folder's name (`repo/` in the bundle is extracted under it). */
  readonly repoFolder: string;
  readonly packagemanager: PackageManagerName;
  readonly target: Target;
  readonly sourceDateEpoch: number;
  readonly outputs: readonly ({ readonly format: string; readonly name: string } & OutputDigest)[];
  /**
   * The source a kernel built from source came from: its name in the bundle (the repo folder's
   * tarball, or the package manager's `.deb` of linux-source-X) and sha256. Absent when the
   * target builds no kernel from source.
   */
  readonly kernelSource?: { readonly name: string; readonly sha256: string };
}

/** A config blob read back: its shape checked before any of it names a path or a command. */
export function parseBundleConfig(value: unknown, bundle: string): BundleConfig {
  const c = value as Partial<BundleConfig> | null;
  const fail = (why: string) => new BundleError(why, { bundle, file: 'config' });
  if (!c || typeof c !== 'object') throw fail('not a JSON object');
  if (c.bundleVersion !== BUNDLE_VERSION)
    throw fail(`bundle version ${String(c.bundleVersion)}; this isobuild reads version ${BUNDLE_VERSION}`);
  if (typeof c.repo !== 'string' || typeof c.repoFolder !== 'string' || !/^[\w.+-]+$/.test(c.repoFolder))
    throw fail('no repo name or repo folder');
  if (!TARGETS.includes(c.target as Target)) throw fail(`unknown target ${String(c.target)}`);
  if (!Object.hasOwn(PACKAGE_MANAGERS, String(c.packagemanager)))
    throw fail(`unknown package manager ${String(c.packagemanager)}`);
  if (!Number.isSafeInteger(c.sourceDateEpoch)) throw fail('no sourceDateEpoch');
  if (
    !Array.isArray(c.outputs) ||
    !c.outputs.length ||
    !c.outputs.every((o) => /^[0-9a-f]{64}$/.test(o?.sha256))
  )
    throw fail('no output digests to compare the rebuild with');
  const k = c.kernelSource;
  if (
    k !== undefined &&
    (typeof k?.name !== 'string' ||
      !/^[\w.+%~-]+(\/[\w.+%~-]+)*$/.test(k.name) ||
      k.name.split('/').includes('..') ||
      !/^[0-9a-f]{64}$/.test(k.sha256))
  )
    throw fail('kernelSource: no file name in the bundle or no sha256');
  return c as BundleConfig;
}
