import type { PackageManagerName } from '../spec/types.js';
import { aptPackageManager } from './apt.js';
import { dnfPackageManager } from './dnf.js';
import { ociPackageManager } from './oci.js';
import { tdnfPackageManager } from './tdnf.js';
import { yumPackageManager } from './yum.js';
import type { PackageManager } from './types.js';
import { usePackageManagers } from '../spec/package-managers.js';

/** A Record, not a Map: a package manager without an adapter fails the type check. */
export const PACKAGE_MANAGERS: Record<PackageManagerName, PackageManager> = {
  apt: aptPackageManager,
  dnf: dnfPackageManager,
  yum: yumPackageManager,
  tdnf: tdnfPackageManager,
  oci: ociPackageManager,
};

// The spec's lifecycle asks the same table (it stands below pm/, so it is handed over, not imported).
usePackageManagers(PACKAGE_MANAGERS);

export function packageManagerFor(name: PackageManagerName): PackageManager {
  return PACKAGE_MANAGERS[name];
}
