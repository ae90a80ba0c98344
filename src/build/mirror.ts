import { UsageError } from '../errors.js';
import { MIRROR_ENV } from '../pm/rpm-mirror.js';
import { packageManagerFor } from '../pm/index.js';
import type { ResolvedSpec } from '../spec/types.js';

/**
 * A build's mirror, checked before any work: only for a manager that takes one (its adapter's
 * checkMirror), and one it can stand in for. ISOBUILD_MIRROR is the default for those managers and
 * left alone by the others, so one CI environment builds both.
 */
export async function checkMirror(
  spec: ResolvedSpec,
  asked: string | undefined,
): Promise<{ mirror?: string }> {
  const pm = packageManagerFor(spec.packagemanager);
  const mirror = asked ?? (pm.checkMirror ? process.env[MIRROR_ENV] : undefined);
  if (!mirror) return {};
  if (!pm.checkMirror)
    throw new UsageError(
      `--mirror is for RPM repos; ${spec.name} uses ${spec.packagemanager}` +
        (pm.mirrorFrom ? ` (its mirror comes from ${pm.mirrorFrom})` : ''),
    );
  await pm.checkMirror(spec, mirror);
  return { mirror };
}
