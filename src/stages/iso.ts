import { BuildError } from '../errors.js';
import type { Stage } from '../pipeline/types.js';

// Placeholder until this stage is implemented.
export const isoStage: Stage = {
  name: 'iso',
  version: 1,
  mutatesRoot: true,
  applies: () => true,
  tools: () => [],
  cacheInputs: async () => ({ values: {}, files: [], toolVersions: [] }),
  describe: () => ['(not implemented yet)'],
  run: async () => {
    throw new BuildError('not implemented yet', 'iso');
  },
};
