import type { ToolNeed } from '../../exec/host-tools.js';

/** What pushing and pulling stage entries runs on the host. */
export const REGISTRY_CACHE_TOOLS: readonly ToolNeed[] = [
  { tool: 'tar', reason: 'pack and unpack stage entries for the registry cache' },
  { tool: 'zstd', reason: 'compress stage entries for the registry cache' },
];
