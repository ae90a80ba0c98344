import { composeCmdline } from '../../../src/image/cmdline.js';
import { kernelArchOf } from '../../../src/image/detect-arch.js';
import { logSerialOf } from '../../../src/image/profile.js';
import { qemuArgs, qemuBinary, type VmOptions } from '../../../src/image/qemu.js';

describe('kernelArchOf', () => {
  test('reads an arm64 Image, an x86 bzImage and an ELF vmlinux', () => {
    const image = Buffer.alloc(0x40);
    image.write('ARM\x64', 0x38, 'latin1');
    expect(kernelArchOf(image)).toBe('arm64');
    const bz = Buffer.alloc(0x240);
    bz.write('HdrS', 0x202, 'latin1');
    expect(kernelArchOf(bz)).toBe('amd64');
    const elf = Buffer.alloc(64);
    elf.writeUInt32BE(0x7f454c46, 0);
    elf[5] = 1;
    elf.writeUInt16LE(183, 18);
    expect(kernelArchOf(elf)).toBe('arm64');
    elf.writeUInt16LE(62, 18);
    expect(kernelArchOf(elf)).toBe('amd64');
    expect(kernelArchOf(Buffer.from('gzip?'))).toBeUndefined();
  });
});

describe('the serial console per architecture', () => {
  test("arm64's profile console is the PL011 (ttyAMA0); amd64 keeps ttyS0", () => {
    const spec = { cmdline: '', profile: 'isobuild' } as const;
    expect(composeCmdline({ ...spec, arch: 'arm64' })).toMatch(/(^| )console=ttyAMA0,115200( |$)/);
    expect(composeCmdline({ ...spec, arch: 'arm64' })).not.toMatch(/ttyS0/);
    expect(composeCmdline(spec)).toMatch(/console=ttyS0,115200/);
    expect(logSerialOf('console=tty0 console=ttyAMA0,115200')).toBe(0);
  });
});

describe('qemu for an arm64 image', () => {
  const iso: VmOptions = {
    target: { kind: 'iso', iso: '/x.iso' },
    arch: 'arm64',
    uefi: true,
    disks: [],
    diskInterface: 'virtio',
    memoryMb: 512,
    accel: 'tcg',
  };

  test('an ISO: qemu-system-aarch64 -M virt -cpu max with AAVMF, the CD on virtio-scsi', () => {
    expect(qemuBinary(iso)).toBe('qemu-system-aarch64');
    const args = qemuArgs(iso, '/tmp/vars.fd').join(' ');
    expect(args).toMatch(/^-M virt -cpu max,pauth-impdef=on /);
    expect(args).toContain('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd');
    expect(args).toContain('-device virtio-scsi-pci,id=scsi');
    expect(args).toContain('-device scsi-cd,drive=boot,bus=scsi.0,bootindex=0');
  });

  test('a microVM folder: -M virt with -kernel, its console moved to the PL011', () => {
    const args = qemuArgs({
      ...iso,
      uefi: false,
      target: { kind: 'microvm', kernel: '/f/vmlinux', cmdline: 'console=ttyS0 root=/dev/vda', drives: [] },
    });
    expect(args.slice(0, 4)).toEqual(['-M', 'virt', '-cpu', 'max,pauth-impdef=on']);
    expect(args[args.indexOf('-append') + 1]).toBe('console=ttyS0 root=/dev/vda console=ttyAMA0');
    expect(args.join(' ')).not.toContain('tsc_early_khz');
  });

  test('amd64 is unchanged: qemu-system-x86_64, no machine flag for an ISO', () => {
    expect(qemuBinary({})).toBe('qemu-system-x86_64');
    expect(qemuArgs({ ...iso, arch: 'amd64', uefi: false })[0]).toBe('-accel');
  });
});
