import { makeRpmPackageManager } from './rpm-adapter.js';

/** tdnf (photon) when the host has it; otherwise dnf with the same configuration (Debian has no tdnf). */
export const tdnfPackageManager = makeRpmPackageManager('tdnf');
