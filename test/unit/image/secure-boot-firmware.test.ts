import { UsageError } from '../../../src/errors.js';
import { qemuArgs, type VmOptions } from '../../../src/image/qemu.js';
import {
  OVMF_SECBOOT_CODE,
  OVMF_VARS_MS,
  OVMF_VARS_SNAKEOIL,
  secureBootFirmware,
} from '../../../src/image/secure-boot-firmware.js';

test('--secure-boot names a shipped key store, or a file that exists', () => {
  expect(secureBootFirmware(true)).toEqual({ code: OVMF_SECBOOT_CODE, varsTemplate: OVMF_VARS_MS });
  expect(secureBootFirmware('snakeoil').varsTemplate).toBe(OVMF_VARS_SNAKEOIL);
  expect(() => secureBootFirmware('/nonexistent/VARS.fd')).toThrow(UsageError);
});

test('a Secure Boot VM is q35 with SMM and secure flash, the secboot code and the given store copy', () => {
  const vm: VmOptions = {
    target: { kind: 'iso', iso: '/x.iso' },
    uefi: true,
    secureBoot: secureBootFirmware('ms'),
    disks: [],
    diskInterface: 'virtio',
    memoryMb: 1024,
    accel: 'tcg',
  };
  const args = qemuArgs(vm, '/tmp/vars-copy.fd').join(' ');
  expect(args).toContain('-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on');
  expect(args).toContain(`if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_SECBOOT_CODE}`);
  expect(args).toContain('if=pflash,format=raw,unit=1,file=/tmp/vars-copy.fd');
});
