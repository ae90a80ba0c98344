import { BuildError } from '../errors.js';
import type { StageContext } from '../pipeline/types.js';

/** Placeholder: writes the app appliance's init and /app files (seed 000) into the root. */
export async function writeAppLayer(_ctx: StageContext): Promise<void> {
  throw new BuildError('the app layer is not implemented yet', 'tether');
}
