import { UsageError } from '../errors.js';
import { MIRROR_ENV, planMirror } from '../pm/rpm-mirror.js';
import type { ResolvedSpec } from '../spec/types.js';

/**
 * A build's mirror, checked before any work: RPM repos only, and one it can stand in for.
 * ISOBUILD_MIRROR is its default for RPM repos and left alone by the others, so one CI
 * environment builds both.
 */
export async function checkMirror(
  spec: ResolvedSpec,
  asked: string | undefined,
): Promise<{ mirror?: string }> {
  const rpm = ['dnf', 'yum', 'tdnf'].includes(spec.packagemanager);
  const mirror = asked ?? (rpm ? process.env[MIRROR_ENV] : undefined);
  if (!mirror) return {};
  if (!rpm)
    throw new UsageError(
      `--mirror is for RPM repos; ${spec.name} uses ${spec.packagemanager}` +
        (spec.packagemanager === 'apt' ? ' (its mirror comes from apt sources: ISOBUILD_APT_SOURCES)' : ''),
    );
  await planMirror(spec.repoFiles, mirror);
  return { mirror };
}
