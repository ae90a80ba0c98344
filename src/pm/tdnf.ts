import { BuildError } from '../errors.js';
import type { PackageManager } from './types.js';

const notYet = async () => {
  throw new BuildError('the tdnf adapter is not implemented yet');
};

// Placeholder until this adapter is implemented.
export const tdnfPackageManager: PackageManager = {
  name: 'tdnf',
  tools: () => [],
  describe: () => [],
  versions: async () => [],
  setup: notYet,
  install: notYet,
  runScript: notYet,
  clean: notYet,
};
