import { resolve } from 'node:path';
import { cacheLayout } from '../cache/cache.js';
import { registryRefs, RegistryStageCache } from '../cache/remote/registry-cache.js';
import { REGISTRY_CACHE_TOOLS } from '../cache/remote/tools.js';
import { checkTools } from '../exec/host-tools.js';
import { formatBytes } from '../fs/disk-space.js';
import type { Logger } from '../log/logger.js';
import type { BuildPlan, StageOutcome } from '../stage/types.js';

/** The registry cache the request names (or ISOBUILD_CACHE_REGISTRY), its tools checked; none: undefined. */
export async function openRemoteCache(
  plan: BuildPlan,
  refs: { cacheFrom?: string; cacheTo?: string },
  logger: Logger,
): Promise<RegistryStageCache | undefined> {
  const remote = await RegistryStageCache.open({
    ...registryRefs(refs),
    scratchDir: cacheLayout(resolve(plan.options.cacheRoot)).tmp,
    sourceDateEpoch: plan.options.sourceDateEpoch,
    logger,
  });
  if (remote) await checkTools(REGISTRY_CACHE_TOOLS);
  return remote;
}

/** "7 from the registry (iso pulled, 6 before it not needed); 3 pushed, 41.2 MiB sent" */
export function summariseRegistry(outcomes: readonly StageOutcome[], remote: RegistryStageCache): string {
  const parts: string[] = [];
  const pulled = outcomes.find((o) => o.status === 'pulled');
  if (pulled) {
    const skipped = outcomes.filter((o) => o.status === 'skipped').length;
    parts.push(
      `${skipped + 1} from the registry (${pulled.stage} pulled${skipped ? `, the ${skipped} before it not needed` : ''})`,
    );
  }
  if (remote.stats.pushedEntries)
    parts.push(`${remote.stats.pushedEntries} pushed, ${formatBytes(remote.stats.pushedBytes)} sent`);
  return parts.join('; ');
}
