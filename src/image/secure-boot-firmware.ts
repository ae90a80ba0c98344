import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { HostFile } from '../exec/host-tools.js';

/**
 * OVMF built with Secure Boot and SMM (Debian's ovmf). The firmware only enforces Secure Boot
 * when its variable store is in SMM-protected flash: qemu must give it a q35 machine with SMM
 * on and mark the flash as secure, or it stops at once.
 */
export const OVMF_SECBOOT_CODE = '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd' satisfies HostFile;
/** Variable stores with Secure Boot on and keys enrolled, as Debian's ovmf ships them. */
export const OVMF_VARS_MS = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd' satisfies HostFile;
export const OVMF_VARS_SNAKEOIL = '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd' satisfies HostFile;
/** The test key pair enrolled (PK, KEK and db) in OVMF_VARS_4M.snakeoil.fd: for tests only. */
export const SNAKEOIL_KEY = '/usr/share/ovmf/PkKek-1-snakeoil.key';
export const SNAKEOIL_CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem';

/** How `--secure-boot [keys]` names the variable store: a shipped one, or a file of one's own. */
export const SECURE_BOOT_KEYS = { ms: OVMF_VARS_MS, snakeoil: OVMF_VARS_SNAKEOIL } as const;

export interface SecureBootFirmware {
  code: string;
  /** The variable store copied for each boot (the firmware writes to it). */
  varsTemplate: string;
}

/**
 * `--secure-boot` takes `ms` (Microsoft's keys, which sign shim: the default), `snakeoil`
 * (Debian's test key), or the path of an OVMF_VARS file with one's own keys enrolled.
 */
export function secureBootFirmware(keys: string | true): SecureBootFirmware {
  const name = keys === true ? 'ms' : keys;
  const known = Object.hasOwn(SECURE_BOOT_KEYS, name);
  const varsTemplate = known ? SECURE_BOOT_KEYS[name as keyof typeof SECURE_BOOT_KEYS] : name;
  // The shipped stores are checked with the other host files (their package is named then).
  if (!known && !existsSync(varsTemplate))
    throw new UsageError(
      `--secure-boot ${name}: ms, snakeoil, or an OVMF_VARS file with keys enrolled (${varsTemplate}: no such file)`,
    );
  return { code: OVMF_SECBOOT_CODE, varsTemplate };
}

/** The machine the secure firmware needs: q35 with SMM, its flash writable only from SMM. */
export function secureBootMachineArgs(): string[] {
  return ['-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on'];
}
