import { renderGrubCfg, renderIsolinuxCfg } from '../../../src/image/boot-config.js';
import { composeCmdline, splitCmdline } from '../../../src/image/cmdline.js';
import { BOOT_PROFILES, imageVersion, logSerialOf } from '../../../src/image/profile.js';
import { volumeIdentity } from '../../../src/image/volume.js';

describe('kernel command line', () => {
  it('puts ttyS0 last so the serial port gets /dev/console, then the spec, then the stages', () => {
    expect(composeCmdline({ cmdline: '', profile: 'isobuild' })).toBe(
      'console=tty0 console=ttyS0,115200 panic=-1 cryptomgr.notests',
    );
    expect(
      composeCmdline(
        { cmdline: ' quiet ', profile: 'isobuild' },
        { cmdline: ['appCmds=x', 'appEnd=poweroff'] },
      ),
    ).toBe('console=tty0 console=ttyS0,115200 panic=-1 cryptomgr.notests quiet appCmds=x appEnd=poweroff');
  });

  it("vic: VIC's line, logging on ttyS1 (ttyS0 is the tether's attach channel)", () => {
    const line = composeCmdline({ cmdline: '', profile: 'vic' });
    expect(line).toBe(
      'loglevel=3 console=ttyS1,115200n8 console=tty0 nodhcp rcupdate.rcu_expedited=1 quiet noreplace-smp cpu_init_udelay=0 vsyscall=emulate',
    );
    expect(logSerialOf(line)).toBe(1);
    expect(logSerialOf(composeCmdline({ cmdline: '', profile: 'isobuild' }))).toBe(0);
    expect(logSerialOf('quiet')).toBe(0);
  });

  it('splits words like the kernel: double quotes group', () => {
    expect(splitCmdline('a  b="c d" e')).toEqual(['a', 'b="c d"', 'e']);
  });
});

describe('volume identity', () => {
  it('fits ISO 9660: 32 upper-case d-characters with the version', () => {
    expect(volumeIdentity('photon-2.0', '0.1.0')).toEqual({
      volid: 'ISOBUILD_0_1_0_PHOTON_2_0',
      publisher: 'ISOBUILD 0.1.0',
      application: 'ISOBUILD 0.1.0 PHOTON-2.0',
    });
    expect(volumeIdentity('a-very-long-repository-name-indeed', '10.20.30').volid).toHaveLength(32);
  });

  it("vic: VIC's publisher with the image version (spec, else $BUILD_NUMBER, else isobuild's)", () => {
    expect(volumeIdentity('photon-2.0', '0.1.0', BOOT_PROFILES.vic, 'v1.5.2-7').publisher).toBe(
      'VMware Inc. v1.5.2-7',
    );
    expect(imageVersion({ version: 'v2' }, { BUILD_NUMBER: '99' })).toBe('v2');
    expect(imageVersion({}, { BUILD_NUMBER: '99' })).toBe('99');
    expect(imageVersion({}, {})).toBe('0.1.0');
  });
});

describe('boot loader configs', () => {
  const values = {
    version: '0.1.0',
    repo: 'tiny',
    volid: 'ISOBUILD_0_1_0_TINY',
    cmdline: 'console=ttyS0 x="a b" y=$z',
  };

  it('isolinux: the command line verbatim on APPEND, serial first', async () => {
    const cfg = await renderIsolinuxCfg(values);
    expect(cfg).toMatch(/^SERIAL 0 115200$/m);
    expect(cfg).toMatch(/^ {2}APPEND console=ttyS0 x="a b" y=\$z$/m);
    expect(cfg).toMatch(/^ {2}INITRD \/boot\/initrd\.img$/m);
  });

  it('grub: finds the ISO by volume id and quotes words grub would interpret', async () => {
    const cfg = await renderGrubCfg(values);
    expect(cfg).toMatch(/^search --no-floppy --set=root --label ISOBUILD_0_1_0_TINY$/m);
    expect(cfg).toMatch(/^linux \/boot\/vmlinuz console=ttyS0 'x="a b"' 'y=\$z'$/m);
  });
});
