import { makeRpmPackageManager } from './rpm-adapter.js';

/** dnf --installroot with a generated configuration (see rpm-adapter.ts). */
export const dnfPackageManager = makeRpmPackageManager('dnf');
