import { VERSION } from '../version.js';
import { BOOT_PROFILES, type BootProfile } from './profile.js';

/**
 * ISO 9660 volume identity. The volume id is limited to 32 d-characters (A-Z 0-9 _); GRUB
 * finds the ISO file system by it, so it must be exactly what the grub.cfg names.
 */
export interface VolumeIdentity {
  volid: string;
  publisher: string;
  application: string;
}

/**
 * `version` is isobuild's (the volume id GRUB searches for); the publisher carries the image's
 * version (imageVersion()) in the profile's form: vic-machine reads `VMware Inc. <version>`.
 */
export function volumeIdentity(
  repo: string,
  version: string = VERSION,
  profile: BootProfile = BOOT_PROFILES.isobuild,
  image: string = version,
): VolumeIdentity {
  const volid = `ISOBUILD_${version}_${repo}`
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, '_')
    .slice(0, 32);
  // ECMA-119 allows only upper case here; xorriso would upper-case them anyway.
  return {
    volid,
    publisher: profile.publisher(image),
    application: `ISOBUILD ${version} ${repo}`.toUpperCase().slice(0, 128),
  };
}
