import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import { HOST_BUSYBOX } from '../../../src/exec/host-tools.js';
import {
  CLOUD_INIT_DATASOURCES,
  FIRSTBOOT_PATH,
  FIRSTBOOT_TEMPLATE,
  FIRSTBOOT_UNIT,
  installFirstbootService,
} from '../../../src/tether/firstboot.js';

/**
 * The first-boot script run by dash (Debian's /bin/sh) and by busybox's sh (a busybox-only root)
 * on a folder standing for the root (FIRSTBOOT_ROOT: files only, nothing of this machine changes)
 * with a kernel command line from a file. Under VMware it also reads guestinfo: that path needs
 * vmware-rpctool on a VMware guest and is not exercised here.
 */

const SHELLS: [string, string[]][] = [
  ['dash', ['dash']],
  ['busybox sh', [HOST_BUSYBOX, 'sh']],
];

describe.each(SHELLS)('firstboot.sh under %s', (_name, shell) => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'isobuild-firstboot-'));
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\told\n');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function firstboot(cmdline: string): Promise<string> {
    await writeFile(join(root, 'cmdline'), `${cmdline}\n`);
    const res = await run(shell[0]!, [...shell.slice(1), FIRSTBOOT_TEMPLATE], {
      env: { FIRSTBOOT_ROOT: root, FIRSTBOOT_CMDLINE: join(root, 'cmdline') },
    });
    return res.stdout;
  }

  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0x+y/z me@host';

  it('hostname and a quoted SSH key from the command line, the key once however often it boots', async () => {
    const line = `console=ttyS0  isobuild.hostname=foo quiet isobuild.ssh_key="${KEY}" panic=-1`;
    const out = await firstboot(line);
    expect(out).toContain('isobuild-firstboot: hostname foo');
    await firstboot(line);
    expect(await readFile(join(root, 'etc/hostname'), 'utf8')).toBe('foo\n');
    expect(await readFile(join(root, 'etc/hosts'), 'utf8')).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tfoo\n');
    expect(await readFile(join(root, 'root/.ssh/authorized_keys'), 'utf8')).toBe(`${KEY}\n`);
    expect((await stat(join(root, 'root/.ssh'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, 'root/.ssh/authorized_keys'))).mode & 0o777).toBe(0o600);
  });

  it('the last of a repeated key wins; quotes may sit mid-word as the kernel allows', async () => {
    await firstboot('isobuild.hostname=a isobuild.hostname="b"  isobuild.ssh_key=ssh-rsa" AAAAB3 x"');
    expect(await readFile(join(root, 'etc/hostname'), 'utf8')).toBe('b\n');
    expect(await readFile(join(root, 'root/.ssh/authorized_keys'), 'utf8')).toBe('ssh-rsa AAAAB3 x\n');
  });

  it('ignores a bad hostname and a line that is no key, saying why; nothing given changes nothing', async () => {
    const out = await firstboot('isobuild.hostname=foo;reboot isobuild.ssh_key=hello');
    expect(out).toContain("hostname 'foo;reboot' is not a host name");
    expect(out).toContain('ssh_key does not start with a key type');
    await expect(stat(join(root, 'etc/hostname'))).rejects.toThrow();
    await expect(stat(join(root, 'root/.ssh'))).rejects.toThrow();
    expect(await firstboot('console=ttyS0 isobuild.hostnamex=foo')).toBe('');
    await expect(stat(join(root, 'etc/hostname'))).rejects.toThrow();
  });

  it('a static address with systemd-networkd: a .network file that sorts first', async () => {
    await mkdir(join(root, 'lib/systemd'), { recursive: true });
    await writeFile(join(root, 'lib/systemd/systemd-networkd'), '', { mode: 0o755 });
    await firstboot('isobuild.ip=10.0.2.15/24 isobuild.gateway=10.0.2.2 isobuild.dns=1.1.1.1,9.9.9.9');
    expect(await readFile(join(root, 'etc/systemd/network/10-isobuild-firstboot.network'), 'utf8')).toBe(
      '# Written by isobuild-firstboot from isobuild.ip / guestinfo.ip.\n[Match]\nName=en* eth*\n\n' +
        '[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\nDNS=1.1.1.1\nDNS=9.9.9.9\n',
    );
    await firstboot('isobuild.ip=dhcp');
    expect(await readFile(join(root, 'etc/systemd/network/10-isobuild-firstboot.network'), 'utf8')).toMatch(
      /\[Network\]\nDHCP=yes\n$/,
    );
  });

  it('under VMware (a fake vmware-rpctool on PATH, the DMI vendor under the root): guestinfo.<key>, then the OVF environment', async () => {
    const bin = join(root, 'fake-bin');
    await mkdir(bin);
    await mkdir(join(root, 'sys/class/dmi/id'), { recursive: true });
    await writeFile(join(root, 'sys/class/dmi/id/sys_vendor'), 'VMware, Inc.\n');
    const env = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1">',
      '   <PropertySection>',
      '         <Property oe:key="hostname" oe:value="from-ovfenv"/>',
      `         <Property oe:key="ssh_key" oe:value="ssh-ed25519 AAAA &amp; &quot;x&quot;"/>`,
      '         <Property oe:key="ip" oe:value=""/>',
      '   </PropertySection>',
      '</Environment>',
    ].join('\n');
    await writeFile(join(root, 'ovfenv.xml'), env);
    // Answers the two requests the script makes; guestinfo.hostname is set, the rest come from ovfEnv.
    await writeFile(
      join(bin, 'vmware-rpctool'),
      `#!/bin/sh\necho "$1" >> ${join(root, 'rpctool.log')}\ncase "$1" in\n  "info-get guestinfo.ovfEnv") cat ${join(root, 'ovfenv.xml')} ;;\n  "info-get guestinfo.hostname") echo from-guestinfo ;;\n  *) echo "No value found"; exit 1 ;;\nesac\n`,
      { mode: 0o755 },
    );
    await writeFile(join(root, 'cmdline'), 'console=ttyS0\n');
    await run(shell[0]!, [...shell.slice(1), FIRSTBOOT_TEMPLATE], {
      env: {
        FIRSTBOOT_ROOT: root,
        FIRSTBOOT_CMDLINE: join(root, 'cmdline'),
        PATH: `${bin}:${process.env.PATH}`,
      },
    });
    expect(await readFile(join(root, 'etc/hostname'), 'utf8')).toBe('from-guestinfo\n');
    expect(await readFile(join(root, 'root/.ssh/authorized_keys'), 'utf8')).toBe('ssh-ed25519 AAAA & "x"\n');
    // An empty property is no value: nothing written for ip.
    await expect(stat(join(root, 'etc/resolv.conf'))).rejects.toThrow();
    expect((await readFile(join(root, 'rpctool.log'), 'utf8')).split('\n')).toEqual([
      'info-get guestinfo.ovfEnv',
      'info-get guestinfo.hostname',
      'info-get guestinfo.ssh_key',
      'info-get guestinfo.ip',
      '',
    ]);
  });

  it('without networkd the DNS servers go to resolv.conf; an ip that is neither dhcp nor a prefix is refused', async () => {
    await firstboot('isobuild.ip=10.0.2.15/24 isobuild.dns=1.1.1.1');
    expect(await readFile(join(root, 'etc/resolv.conf'), 'utf8')).toBe('nameserver 1.1.1.1\n');
    expect(await firstboot('isobuild.ip=10.0.2.15')).toContain(
      "ip '10.0.2.15' is neither dhcp nor ADDRESS/PREFIX",
    );
  });
});

describe('installFirstbootService', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'isobuild-firstboot-root-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the script, the unit wanted by sysinit.target, and no cloud-init config without cloud-init', async () => {
    const written = await installFirstbootService(root, 1700000000);
    expect(written).toEqual([FIRSTBOOT_PATH, '/etc/systemd/system/isobuild-firstboot.service']);
    expect(await readFile(join(root, FIRSTBOOT_PATH))).toEqual(await readFile(FIRSTBOOT_TEMPLATE));
    expect((await stat(join(root, FIRSTBOOT_PATH))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(root, 'etc/systemd/system/isobuild-firstboot.service'), 'utf8')).toBe(
      FIRSTBOOT_UNIT,
    );
    expect(FIRSTBOOT_UNIT).toMatch(/^Before=.*systemd-networkd\.service.*ssh\.service/m);
    const wants = join(root, 'etc/systemd/system/sysinit.target.wants/isobuild-firstboot.service');
    expect(await readlink(wants)).toBe('../isobuild-firstboot.service');
    expect((await lstat(wants)).mtimeMs).toBe(1700000000 * 1000);
    await expect(stat(join(root, 'etc/cloud'))).rejects.toThrow();
  });

  it('limits cloud-init to NoCloud (a cidata volume) and VMware when the root has cloud-init', async () => {
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await writeFile(join(root, 'usr/bin/cloud-init'), '#!/bin/sh\n', { mode: 0o755 });
    const written = await installFirstbootService(root, 0);
    expect(written).toContain('/etc/cloud/cloud.cfg.d/90-isobuild-datasources.cfg');
    expect(await readFile(join(root, 'etc/cloud/cloud.cfg.d/90-isobuild-datasources.cfg'), 'utf8')).toBe(
      CLOUD_INIT_DATASOURCES,
    );
  });
});
