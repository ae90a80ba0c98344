import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Element } from '@xmldom/xmldom';
import { checkDescriptor, children, only, OVF, ovfAttr, parse, rasd } from '../../helpers/ovf-check.js';
import { run } from '../../../src/exec/run.js';
import {
  GUESTINFO_TRANSPORT,
  makeOvfDescriptor,
  OVF_NAMESPACES,
  RESOURCE_TYPE,
  type OvaSettings,
} from '../../../src/image/ova-descriptor.js';
import { formatManifest, ovaMembers, writeOva } from '../../../src/image/ova.js';
import { FIRSTBOOT_PROPERTIES, ovaSettingsOf } from '../../../src/image/ova-settings.js';
import { parseSpecText } from '../../../src/spec/document.js';
import type { Ova } from '../../../src/spec/repo-spec.generated.js';
import { checkSchema } from '../../../src/spec/schema.js';

/**
 * The OVA writer on a real streamOptimized VMDK made by qemu-img: the archive's order and format
 * (GNU tar reads it back), the manifest's digests, the descriptor parsed by a namespace-aware XML
 * parser with every reference resolved, and two writes giving the same bytes.
 */

const SETTINGS: OvaSettings = {
  cpus: 2,
  memory: 1024,
  firmware: 'efi',
  controller: 'pvscsi',
  nic: 'vmxnet3',
  network: 'VM Network',
  hardwareVersion: 'vmx-13',
  os: { cimId: 96, vmwareType: 'debian10_64Guest' },
  product: {
    name: 'isobuild <appliance>',
    version: '1.2.3',
    vendor: 'Example & Co',
    vendorUrl: 'https://example.com',
  },
  properties: [
    { key: 'hostname', type: 'string', default: 'appliance', label: 'Host name' },
    {
      key: 'ssh_key',
      type: 'string',
      label: 'SSH public key for root',
      description: 'one authorized_keys line',
    },
    { key: 'root_password', type: 'string', password: true },
  ],
};

/** What SETTINGS make of a 64 MiB disk. */
const WANT = {
  capacityBytes: 64 * 1024 * 1024,
  cpus: 2,
  memory: 1024,
  controllerSubType: 'VirtualSCSI',
  nicSubType: 'VmxNet3',
};

describe('OVF descriptor', () => {
  const xml = makeOvfDescriptor({
    name: 'debian-12',
    settings: SETTINGS,
    disk: {
      href: 'debian-12-disk1.vmdk',
      fileBytes: 1000,
      capacityBytes: 64 * 1024 * 1024,
      populatedBytes: 4096,
    },
  });

  it('is well-formed XML in the OVF 1.0 namespaces whose references resolve', () => {
    checkDescriptor(xml, { ...WANT, href: 'debian-12-disk1.vmdk', fileBytes: 1000 });
  });

  it('carries the firmware as vmw:Config, the product, and the properties for the guestinfo transport', () => {
    const envelope = parse(xml);
    const system = only(envelope, 'VirtualSystem');
    const hardware = only(system, 'VirtualHardwareSection');
    expect(ovfAttr(hardware, 'transport')).toBe(GUESTINFO_TRANSPORT);
    const config = only(hardware, 'Config', OVF_NAMESPACES.vmw);
    expect(config.getAttributeNS(OVF_NAMESPACES.vmw, 'key')).toBe('firmware');
    expect(config.getAttributeNS(OVF_NAMESPACES.vmw, 'value')).toBe('efi');
    const os = only(system, 'OperatingSystemSection');
    expect(ovfAttr(os, 'id')).toBe('96');
    expect(os.getAttributeNS(OVF_NAMESPACES.vmw, 'osType')).toBe('debian10_64Guest');
    const product = only(system, 'ProductSection');
    // Escaped on the way out, read back as written.
    expect(only(product, 'Product').textContent).toBe('isobuild <appliance>');
    expect(only(product, 'Vendor').textContent).toBe('Example & Co');
    expect(only(product, 'Version').textContent).toBe('1.2.3');
    expect(children(product).map((e) => e.localName)).toEqual([
      'Info',
      'Product',
      'Vendor',
      'Version',
      'VendorUrl',
      'Property',
      'Property',
      'Property',
    ]);
    const props = children(product, 'Property');
    expect(
      props.map((p) => [ovfAttr(p, 'key'), ovfAttr(p, 'value'), ovfAttr(p, 'userConfigurable')]),
    ).toEqual([
      ['hostname', 'appliance', 'true'],
      ['ssh_key', '', 'true'],
      ['root_password', '', 'true'],
    ]);
    expect(only(props[0] as Element, 'Label').textContent).toBe('Host name');
    expect(ovfAttr(props[2] as Element, 'password')).toBe('true');
  });

  it('BIOS, SATA, e1000 and no properties: no transport, no ProductSection without a product', () => {
    const plain = parse(
      makeOvfDescriptor({
        name: 'x',
        settings: {
          ...SETTINGS,
          firmware: 'bios',
          controller: 'sata',
          nic: 'e1000',
          product: undefined,
          properties: [],
        },
        disk: { href: 'x-disk1.vmdk', fileBytes: 1, capacityBytes: 1, populatedBytes: 0 },
      }),
    );
    const system = only(plain, 'VirtualSystem');
    expect(children(system, 'ProductSection')).toEqual([]);
    const hardware = only(system, 'VirtualHardwareSection');
    expect(hardware.hasAttributeNS(OVF, 'transport')).toBe(false);
    expect(only(hardware, 'Config', OVF_NAMESPACES.vmw).getAttributeNS(OVF_NAMESPACES.vmw, 'value')).toBe(
      'bios',
    );
    const items = children(hardware, 'Item');
    const controller = items.find((i) => rasd(i, 'ResourceSubType') === 'vmware.sata.ahci');
    expect(controller && rasd(controller, 'ResourceType')).toBe(String(RESOURCE_TYPE.otherStorage));
    expect(items.map((i) => rasd(i, 'ResourceSubType'))).toContain('E1000');
  });
});

describe('OVA archive on a real streamOptimized VMDK', () => {
  let dir: string;
  let vmdk: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-ova-'));
    const raw = join(dir, 'disk.raw');
    await writeFile(raw, '');
    await truncate(raw, 64 * 1024 * 1024);
    // Some data at 1 MiB, the rest a hole: populatedSize counts only the data.
    const fh = await open(raw, 'r+');
    await fh.write(Buffer.alloc(128 * 1024, 0x5a), 0, 128 * 1024, 1024 * 1024);
    await fh.close();
    vmdk = join(dir, 'disk.vmdk');
    await run('qemu-img', [
      'convert',
      '-f',
      'raw',
      '-O',
      'vmdk',
      '-o',
      'subformat=streamOptimized',
      raw,
      vmdk,
    ]);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the descriptor, then the manifest, then the disk; digests match; the disk is streamOptimized; same bytes twice', async () => {
    const ova = join(dir, 'debian-12.ova');
    const digests = await writeOva({
      vmdk,
      dest: ova,
      name: 'debian-12',
      settings: SETTINGS,
      sourceDateEpoch: 1700000000,
    });
    const members = ovaMembers('debian-12');
    const listed = (await run('tar', ['-tf', ova])).stdout.trim().split('\n');
    expect(listed).toEqual([members.ovf, members.manifest, members.disk]);
    // ustar (POSIX.1-1988): magic "ustar\0" and version "00" in the first header.
    const head = (await readFile(ova)).subarray(0, 512);
    expect(head.subarray(257, 265).toString('latin1')).toBe('ustar\u000000');
    const verbose = (await run('tar', ['-tvf', ova, '--numeric-owner', '--utc'])).stdout;
    for (const line of verbose.trim().split('\n'))
      expect(line).toMatch(/^-rw-r--r-- 0\/0 .* 2023-11-14 22:13 /);

    const out = join(dir, 'out');
    await mkdir(out);
    await run('tar', ['-xf', ova, '-C', out]);
    const manifest = await readFile(join(out, members.manifest), 'utf8');
    const sha = async (n: string) =>
      createHash('sha256')
        .update(await readFile(join(out, n)))
        .digest('hex');
    expect(manifest).toBe(
      formatManifest([
        { name: members.ovf, sha256: await sha(members.ovf) },
        { name: members.disk, sha256: await sha(members.disk) },
      ]),
    );
    expect(manifest).toMatch(
      /^SHA256\(debian-12\.ovf\)= [0-9a-f]{64}\nSHA256\(debian-12-disk1\.vmdk\)= [0-9a-f]{64}\n$/,
    );
    expect(digests.map((d) => d.name)).toEqual([members.ovf, members.disk]);

    // libxml2's parser too (libxml2-utils, in make deps): well-formed, namespaces declared.
    // It reports a namespace error on stderr and still exits 0: nothing on stderr is the check.
    expect((await run('xmllint', ['--noout', '--nonet', join(out, members.ovf)])).stderr).toBe('');
    const vmdkBytes = (await readFile(join(out, members.disk))).length;
    checkDescriptor(await readFile(join(out, members.ovf), 'utf8'), {
      ...WANT,
      href: members.disk,
      fileBytes: vmdkBytes,
    });
    const info = (await run('qemu-img', ['info', join(out, members.disk)])).stdout;
    expect(info).toMatch(/create type: streamOptimized/);

    // Into a folder that does not exist yet, as bin/ on a first build.
    const again = join(dir, 'new', 'again.ova');
    await writeOva({ vmdk, dest: again, name: 'debian-12', settings: SETTINGS, sourceDateEpoch: 1700000000 });
    expect(await readFile(again)).toEqual(await readFile(ova));
  });

  it('refuses a VMDK that is not streamOptimized, naming it', async () => {
    const sparse = join(dir, 'sparse.vmdk');
    await run('qemu-img', ['create', '-f', 'vmdk', sparse, '16M']);
    await expect(
      writeOva({
        vmdk: sparse,
        dest: join(dir, 'bad.ova'),
        name: 'x',
        settings: SETTINGS,
        sourceDateEpoch: 0,
      }),
    ).rejects.toThrow(`output ova: ${sparse} is vmdk (monolithicSparse), not a streamOptimized VMDK`);
  });
});

/** The fields every spec needs (debian-12's, shortened). */
const MINIMAL_SPEC = {
  name: 'x',
  packagemanager: 'apt',
  kernel: 'linux-image-cloud-amd64',
  init: '/bin/init',
  packages: { base: 'bash' },
};

describe("the spec's ova section", () => {
  const spec = (ova?: Ova) => ({ name: 'debian-12', version: '2.0', raw: ova ? { ova } : {} });

  it('defaults: 2 CPUs, 1 GiB, BIOS, pvscsi, vmxnet3, the repo as product, the first-boot keys as properties', () => {
    const s = ovaSettingsOf(spec());
    expect(s).toMatchObject({
      cpus: 2,
      memory: 1024,
      firmware: 'bios',
      controller: 'pvscsi',
      nic: 'vmxnet3',
      network: 'VM Network',
      hardwareVersion: 'vmx-13',
      os: { cimId: 101, vmwareType: 'other3xLinux64Guest' },
      product: { name: 'debian-12', version: '2.0' },
    });
    expect(s.properties.map((p) => p.key)).toEqual(['hostname', 'ip', 'gateway', 'dns', 'ssh_key']);
    expect(s.properties).toBe(FIRSTBOOT_PROPERTIES);
  });

  it("the spec's fields, and its properties instead of the first-boot keys", () => {
    const s = ovaSettingsOf(
      spec({
        cpus: 4,
        memory: 4096,
        firmware: 'efi',
        controller: 'sata',
        os: { cim_id: 96, vmware_os_type: 'debian10_64Guest' },
        product: { name: 'Appliance', vendor: 'Example', vendor_url: 'https://example.com' },
        properties: [
          { key: 'hostname', label: 'Name' },
          { key: 'admin_password', password: true },
        ],
      }),
    );
    expect(s).toMatchObject({
      cpus: 4,
      memory: 4096,
      firmware: 'efi',
      controller: 'sata',
      os: { cimId: 96 },
    });
    expect(s.product).toEqual({
      name: 'Appliance',
      version: '2.0',
      vendor: 'Example',
      vendorUrl: 'https://example.com',
    });
    expect(s.properties).toEqual([
      { key: 'hostname', type: 'string', label: 'Name' },
      { key: 'admin_password', type: 'string', password: true },
    ]);
  });

  it.each([
    [{ firmware: 'uefi' }, '/ova/firmware'],
    [{ cpus: 0 }, '/ova/cpus'],
    [{ properties: [{ key: 'host name' }] }, '/ova/properties/0/key'],
    [{ product: { vendor_url: 'example.com' } }, '/ova/product/vendor_url'],
    [{ controller: 'ide' }, '/ova/controller'],
  ])('the schema refuses %j at %s', (ova, pointer) => {
    const doc = parseSpecText('repo-spec.json', JSON.stringify({ ...MINIMAL_SPEC, ova }));
    expect(checkSchema(doc).map((d) => d.pointer)).toContain(pointer);
  });

  it('the schema takes a whole section', () => {
    const ova = {
      cpus: 2,
      memory: 2048,
      firmware: 'efi',
      controller: 'pvscsi',
      nic: 'e1000e',
      network: 'Appliance Network',
      hardware_version: 'vmx-19',
      os: { cim_id: 96, vmware_os_type: 'debian10_64Guest' },
      product: {
        name: 'A',
        version: '1',
        full_version: '1.0.0',
        vendor: 'V',
        product_url: 'https://a',
        vendor_url: 'https://v',
      },
      properties: [
        { key: 'hostname', type: 'string', default: 'a', label: 'L', description: 'D', password: false },
      ],
    };
    const doc = parseSpecText('repo-spec.json', JSON.stringify({ ...MINIMAL_SPEC, ova }));
    expect(checkSchema(doc)).toEqual([]);
  });
});
