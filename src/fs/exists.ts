import { stat } from 'node:fs/promises';

/** Whether a path exists (following symlinks: a dangling link does not). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
