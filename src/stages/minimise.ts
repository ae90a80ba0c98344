import { BuildError } from '../errors.js';
import type { Stage } from '../pipeline/types.js';

// Placeholder until this stage is implemented.
export const minimiseStage: Stage = {
  name: 'minimise',
  version: 1,
  mutatesRoot: true,
  applies: () => true,
  tools: () => [],
  cacheInputs: async () => ({ values: {}, files: [], toolVersions: [] }),
  describe: () => ['(not implemented yet)'],
  run: async () => {
    throw new BuildError('not implemented yet', 'minimise');
  },
};
