import { makeRpmPackageManager } from './rpm-adapter.js';

/** yum when the host has it; otherwise dnf with the same configuration, as current Fedora and RHEL do. */
export const yumPackageManager = makeRpmPackageManager('yum');
