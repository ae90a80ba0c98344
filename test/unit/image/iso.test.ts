import { xorrisoArgs, xorrisoDate, xorrisoEpoch, type IsoLayout } from '../../../src/image/iso.js';
import { qemuArgs, type VmOptions } from '../../../src/image/qemu.js';

const base: IsoLayout = {
  output: '/out/image.iso',
  identity: { volid: 'V', publisher: 'P', application: 'A' },
  sourceDateEpoch: 1_700_000_000,
  files: { 'boot/vmlinuz': '/a/vmlinuz', 'boot/initrd.img': '/a/initrd.img', 'x=y': '/a/x=y' },
};

describe('xorrisoArgs', () => {
  it('fixes every date from SOURCE_DATE_EPOCH', () => {
    expect(xorrisoDate(1_700_000_000)).toBe('2023111422132000');
    const args = xorrisoArgs(base);
    expect(args).toContain('--modification-date=2023111422132000');
    expect(args.join(' ')).toContain('--set_all_file_dates 2023111422132000');
  });

  it('never hands xorriso a date of 0, which it takes as "now"', () => {
    expect(xorrisoEpoch(0)).toBe(1);
    expect(xorrisoArgs({ ...base, sourceDateEpoch: 0 })).toContain('--modification-date=1970010100000100');
  });

  it('grafts files sorted, with = escaped', () => {
    const grafts = xorrisoArgs(base).slice(xorrisoArgs(base).indexOf('-graft-points') + 1);
    expect(grafts).toEqual(['/boot/initrd.img=/a/initrd.img', '/boot/vmlinuz=/a/vmlinuz', '/x\\=y=/a/x\\=y']);
  });

  it('BIOS + UEFI: isolinux El Torito, EFI image as appended ESP, hybrid MBR and GPT', () => {
    const s = xorrisoArgs({
      ...base,
      bios: { isolinuxDir: 'boot/isolinux', mbr: '/m.bin' },
      efiImage: '/e.img',
    }).join(' ');
    expect(s).toContain('-isohybrid-mbr /m.bin -b boot/isolinux/isolinux.bin -c boot/isolinux/boot.cat');
    expect(s).toContain(
      '-eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot -isohybrid-gpt-basdat -append_partition 2 0xef /e.img',
    );
  });

  it('UEFI only: no isolinux, no alt boot', () => {
    const s = xorrisoArgs({ ...base, efiImage: '/e.img' }).join(' ');
    expect(s).not.toContain('isolinux');
    expect(s).not.toContain('-eltorito-alt-boot');
    expect(s).toContain(
      '-e --interval:appended_partition_2:all:: -no-emul-boot -append_partition 2 0xef /e.img',
    );
  });
});

describe('qemuArgs', () => {
  const vm: VmOptions = {
    target: { kind: 'iso', iso: '/i.iso' },
    uefi: false,
    disks: ['/d1.img', '/d2.img'],
    diskInterface: 'virtio',
    memoryMb: 1024,
    accel: 'tcg',
  };

  it('serial on stdio, no monitor, no reboot, TCG, the ISO as an AHCI CD booted first and virtio disks', () => {
    const s = qemuArgs(vm).join(' ');
    expect(s).toContain('-accel tcg -m 1024');
    expect(s).toContain('-display none -serial stdio -monitor none -no-reboot');
    expect(s).toContain(
      '-device ahci,id=ahci -drive id=boot,if=none,file=/i.iso,media=cdrom,readonly=on -device ide-cd,drive=boot,bus=ahci.0,bootindex=0',
    );
    expect(s).toContain('-drive file=/d1.img,format=raw,if=virtio -drive file=/d2.img,format=raw,if=virtio');
  });

  it('a watched boot writes the serial console to a file (a full pipe makes qemu drop bytes)', () => {
    const s = qemuArgs(vm, undefined, '/tmp/a,b/console.log').join(' ');
    expect(s).toContain('-chardev file,id=console,path=/tmp/a,,b/console.log -serial chardev:console');
    expect(s).not.toContain('stdio');
  });

  it('UEFI: OVMF code read-only and a private copy of the variables', () => {
    expect(() => qemuArgs({ ...vm, uefi: true })).toThrow(/OVMF_VARS/);
    const s = qemuArgs({ ...vm, uefi: true }, '/tmp/x/VARS.fd').join(' ');
    expect(s).toContain('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd');
    expect(s).toContain('if=pflash,format=raw,unit=1,file=/tmp/x/VARS.fd');
  });

  it('kernel+initrd: the folder command line plus --append', () => {
    const args = qemuArgs({
      ...vm,
      disks: [],
      target: { kind: 'kernel', kernel: '/k', initrd: '/i', cmdline: 'console=ttyS0' },
      append: 'isobuild.debug',
    });
    expect(args.slice(args.indexOf('-kernel'))).toEqual([
      '-kernel',
      '/k',
      '-initrd',
      '/i',
      '-append',
      'console=ttyS0 isobuild.debug',
    ]);
  });

  it('IDE disks take the PIIX slots in order; a USB-stick boot is an AHCI hard disk with a scratch overlay', () => {
    const ide = qemuArgs({ ...vm, diskInterface: 'ide' }).join(' ');
    expect(ide).toContain('file=/d1.img,format=raw,if=ide,index=0');
    expect(ide).toContain('file=/d2.img,format=raw,if=ide,index=1');
    const stick = qemuArgs({
      ...vm,
      diskInterface: 'ide',
      target: { kind: 'iso', iso: '/i.iso', asDisk: true },
    }).join(' ');
    expect(stick).toContain(
      '-drive id=boot,if=none,file=/i.iso,format=raw,snapshot=on -device ide-hd,drive=boot,bus=ahci.0,bootindex=0',
    );
    expect(stick).toContain('file=/d1.img,format=raw,if=ide,index=0');
    expect(() => qemuArgs({ ...vm, diskInterface: 'ide', disks: ['/1', '/2', '/3', '/4', '/5'] })).toThrow(
      /too many IDE disks/,
    );
  });

  it('a disk image gets a scratch overlay (snapshot=on) unless --writable lets the guest write into it', () => {
    const disk = (writable?: boolean) =>
      qemuArgs({
        ...vm,
        disks: [],
        target: { kind: 'disk', path: '/a.qcow2', format: 'qcow2', ...(writable ? { writable } : {}) },
      });
    expect(disk()).toContain('id=boot,if=none,file=/a.qcow2,format=qcow2,snapshot=on');
    expect(disk(true)).toContain('id=boot,if=none,file=/a.qcow2,format=qcow2');
  });
});
