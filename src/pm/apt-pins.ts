import type { PackageLock } from '../lock/lock-file.js';

/** The preferences file a locked build installs with, in the root only while apt runs. */
export const LOCK_PINS = 'isobuild-lock.pref';

/** apt preferences that make every locked version the candidate (1001 allows going back to it). */
export function makeAptPins(lock: PackageLock): string {
  return lock.packages
    .map((p) => `Package: ${p.name}\nPin: version ${p.version}\nPin-Priority: 1001\n`)
    .join('\n');
}
