import { VERSION } from '../version.js';

/**
 * ISO 9660 volume identity. The volume id is limited to 32 d-characters (A-Z 0-9 _); GRUB
 * finds the ISO file system by it, so it must be exactly what the grub.cfg names.
 */
export interface VolumeIdentity {
  volid: string;
  publisher: string;
  application: string;
}

export function volumeIdentity(repo: string, version: string = VERSION): VolumeIdentity {
  const volid = `ISOBUILD_${version}_${repo}`
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, '_')
    .slice(0, 32);
  // ECMA-119 allows only upper case here; xorriso would upper-case them anyway.
  return {
    volid,
    publisher: `ISOBUILD ${version}`.toUpperCase(),
    application: `ISOBUILD ${version} ${repo}`.toUpperCase().slice(0, 128),
  };
}
