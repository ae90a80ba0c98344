/**
 * The OVF 1.0 descriptor of an OVA (DMTF DSP0243 1.x, envelope schema DSP8023): one virtual
 * system booting one streamOptimized VMDK, written as vSphere's importer reads it. Pure: the
 * caller measures the disk; nothing here touches a file.
 */

/** The storage controller the disk hangs on; each is a driver Debian's cloud kernel has. */
export const OVA_CONTROLLERS = ['pvscsi', 'lsilogic', 'sata'] as const;
export type OvaController = (typeof OVA_CONTROLLERS)[number];

export const OVA_NICS = ['vmxnet3', 'e1000', 'e1000e'] as const;
export type OvaNic = (typeof OVA_NICS)[number];

export type OvaFirmware = 'bios' | 'efi';

/** OVF's property types (DSP0243 table "Property types") that vSphere's deploy wizard shows. */
export const OVF_PROPERTY_TYPES = [
  'string',
  'boolean',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'sint8',
  'sint16',
  'sint32',
  'sint64',
  'real32',
  'real64',
] as const;
export type OvfPropertyType = (typeof OVF_PROPERTY_TYPES)[number];

export interface OvaProperty {
  /** The key the guest reads: `<key>` in guestinfo.ovfEnv (docs/disk.md#first-boot). */
  readonly key: string;
  readonly type: OvfPropertyType;
  readonly default?: string;
  readonly label?: string;
  readonly description?: string;
  /** Masked in the wizard (ovf:password, OVF 1.1; 1.0 importers ignore it). */
  readonly password?: boolean;
}

export interface OvaProduct {
  readonly name: string;
  readonly version?: string;
  readonly fullVersion?: string;
  readonly vendor?: string;
  readonly productUrl?: string;
  readonly vendorUrl?: string;
}

/** The spec's `ova` section, normalised (docs/spec.md#ova). */
export interface OvaSettings {
  readonly cpus: number;
  /** MiB. */
  readonly memory: number;
  readonly firmware: OvaFirmware;
  readonly controller: OvaController;
  readonly nic: OvaNic;
  /** The logical network the NIC connects to; the importer maps it to a port group. */
  readonly network: string;
  /** vSphere's virtual hardware family (vmx-13: ESXi 6.5 and later). */
  readonly hardwareVersion: string;
  /** CIM_OperatingSystem.OsType (96: Debian 64-bit, 101: Linux 64-bit) and vSphere's guest id. */
  readonly os: { readonly cimId: number; readonly vmwareType: string };
  readonly product?: OvaProduct;
  readonly properties: readonly OvaProperty[];
}

export interface OvfInput {
  /** The virtual system's id and name (the repo's name). */
  readonly name: string;
  readonly settings: OvaSettings;
  readonly disk: {
    /** The VMDK's name in the OVA. */
    readonly href: string;
    /** The VMDK file's bytes. */
    readonly fileBytes: number;
    /** The disk's virtual size in bytes. */
    readonly capacityBytes: number;
    /** Bytes of the disk that hold data (ovf:populatedSize: what thin provisioning needs at first). */
    readonly populatedBytes: number;
  };
}

export const OVF_NAMESPACES = {
  ovf: 'http://schemas.dmtf.org/ovf/envelope/1',
  rasd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData',
  vssd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData',
  vmw: 'http://www.vmware.com/schema/ovf',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

/** The VMDK subformat vSphere imports from an OVA (VMware's URI; DSP0243 leaves formats to vendors). */
export const STREAM_OPTIMIZED_FORMAT =
  'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized';

/** How vSphere's deploy wizard hands ProductSection properties to the guest (guestinfo.ovfEnv). */
export const GUESTINFO_TRANSPORT = 'com.vmware.guestInfo';

/** CIM_ResourceAllocationSettingData.ResourceType values used here (DSP0243 annex, CIM schema). */
export const RESOURCE_TYPE = {
  cpu: 3,
  memory: 4,
  ideController: 5,
  scsiController: 6,
  ethernet: 10,
  otherStorage: 20,
  disk: 17,
} as const;

const CONTROLLER_ITEMS: Record<OvaController, { type: number; subType: string; label: string }> = {
  pvscsi: {
    type: RESOURCE_TYPE.scsiController,
    subType: 'VirtualSCSI',
    label: 'SCSI Controller 0 (paravirtual)',
  },
  lsilogic: {
    type: RESOURCE_TYPE.scsiController,
    subType: 'lsilogic',
    label: 'SCSI Controller 0 (LSI Logic)',
  },
  // vSphere's name for its AHCI controller; ResourceType 20 is CIM's "Other Storage Device".
  sata: { type: RESOURCE_TYPE.otherStorage, subType: 'vmware.sata.ahci', label: 'SATA Controller 0' },
};

const NIC_SUBTYPES: Record<OvaNic, string> = { vmxnet3: 'VmxNet3', e1000: 'E1000', e1000e: 'E1000e' };

/** The ids that tie the sections together; the test resolves each reference. */
export const OVF_IDS = { file: 'file1', disk: 'vmdisk1' } as const;

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

type Attrs = Readonly<Record<string, string | number | boolean | undefined>>;

function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
}

function el(name: string, text: string | number): string {
  return `<${name}>${escapeXml(String(text))}</${name}>`;
}

function indent(lines: readonly string[], depth = 1): string[] {
  return lines.map((l) => '  '.repeat(depth) + l);
}

/**
 * One RASD item. DSP8023 types the item as CIM_ResourceAllocationSettingData, whose schema is an
 * xs:sequence in alphabetical order: the elements are sorted so a validating parser accepts them.
 */
function item(fields: Readonly<Record<string, string | number | undefined>>): string[] {
  const names = Object.keys(fields)
    .filter((k) => fields[k] !== undefined)
    .sort();
  return ['<Item>', ...indent(names.map((k) => el(`rasd:${k}`, fields[k] as string | number))), '</Item>'];
}

function section(name: string, attributes: Attrs, info: string, body: readonly string[]): string[] {
  return [`<${name}${attrs(attributes)}>`, ...indent([el('Info', info), ...body]), `</${name}>`];
}

/** The instance ids of the hardware items: the disk names its controller by id (rasd:Parent). */
const INSTANCE = { cpu: 1, memory: 2, controller: 3, disk: 4, nic: 5 } as const;

function hardwareItems(input: OvfInput): string[] {
  const s = input.settings;
  const controller = CONTROLLER_ITEMS[s.controller];
  return [
    ...item({
      AllocationUnits: 'hertz * 10^6',
      Description: 'Number of virtual CPUs',
      ElementName: `${s.cpus} virtual CPU(s)`,
      InstanceID: INSTANCE.cpu,
      ResourceType: RESOURCE_TYPE.cpu,
      VirtualQuantity: s.cpus,
    }),
    ...item({
      AllocationUnits: 'byte * 2^20',
      Description: 'Memory size',
      ElementName: `${s.memory} MB of memory`,
      InstanceID: INSTANCE.memory,
      ResourceType: RESOURCE_TYPE.memory,
      VirtualQuantity: s.memory,
    }),
    ...item({
      Address: 0,
      Description: 'Storage controller',
      ElementName: controller.label,
      InstanceID: INSTANCE.controller,
      ResourceSubType: controller.subType,
      ResourceType: controller.type,
    }),
    ...item({
      AddressOnParent: 0,
      ElementName: 'Hard disk 1',
      HostResource: `ovf:/disk/${OVF_IDS.disk}`,
      InstanceID: INSTANCE.disk,
      Parent: INSTANCE.controller,
      ResourceType: RESOURCE_TYPE.disk,
    }),
    ...item({
      AutomaticAllocation: 'true',
      Connection: s.network,
      Description: `${NIC_SUBTYPES[s.nic]} ethernet adapter on "${s.network}"`,
      ElementName: 'Network adapter 1',
      InstanceID: INSTANCE.nic,
      ResourceSubType: NIC_SUBTYPES[s.nic],
      ResourceType: RESOURCE_TYPE.ethernet,
    }),
    // vSphere's extension for the firmware; DSP0243 has no element for it.
    `<vmw:Config${attrs({ 'ovf:required': 'false', 'vmw:key': 'firmware', 'vmw:value': s.firmware })}/>`,
  ];
}

function productSection(s: OvaSettings): string[] {
  if (!s.product && s.properties.length === 0) return [];
  const p = s.product;
  // DSP8023's ProductSection_Type sequence: Info, Product, Vendor, Version, FullVersion,
  // ProductUrl, VendorUrl, ..., then the properties.
  const body = [
    ...(p ? [el('Product', p.name)] : []),
    ...(p?.vendor ? [el('Vendor', p.vendor)] : []),
    ...(p?.version ? [el('Version', p.version)] : []),
    ...(p?.fullVersion ? [el('FullVersion', p.fullVersion)] : []),
    ...(p?.productUrl ? [el('ProductUrl', p.productUrl)] : []),
    ...(p?.vendorUrl ? [el('VendorUrl', p.vendorUrl)] : []),
    ...s.properties.flatMap((prop) => [
      `<Property${attrs({
        'ovf:key': prop.key,
        'ovf:type': prop.type,
        'ovf:userConfigurable': 'true',
        'ovf:value': prop.default ?? '',
        'ovf:password': prop.password ? 'true' : undefined,
      })}>`,
      ...indent([
        ...(prop.label ? [el('Label', prop.label)] : []),
        ...(prop.description ? [el('Description', prop.description)] : []),
      ]),
      '</Property>',
    ]),
  ];
  return section('ProductSection', {}, 'Information about the installed software', body);
}

/** The descriptor's text (UTF-8, a trailing newline). */
export function makeOvfDescriptor(input: OvfInput): string {
  const s = input.settings;
  const ns = Object.entries(OVF_NAMESPACES).map(([p, uri]) => ` xmlns:${p}="${uri}"`);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<Envelope xmlns="${OVF_NAMESPACES.ovf}"${ns.join('')}>`,
    ...indent([
      '<References>',
      ...indent([
        `<File${attrs({ 'ovf:href': input.disk.href, 'ovf:id': OVF_IDS.file, 'ovf:size': input.disk.fileBytes })}/>`,
      ]),
      '</References>',
      ...section('DiskSection', {}, 'Virtual disk information', [
        `<Disk${attrs({
          'ovf:capacity': input.disk.capacityBytes,
          'ovf:capacityAllocationUnits': 'byte',
          'ovf:diskId': OVF_IDS.disk,
          'ovf:fileRef': OVF_IDS.file,
          'ovf:format': STREAM_OPTIMIZED_FORMAT,
          'ovf:populatedSize': input.disk.populatedBytes,
        })}/>`,
      ]),
      ...section('NetworkSection', {}, 'The logical networks', [
        `<Network${attrs({ 'ovf:name': s.network })}>`,
        ...indent([el('Description', `The ${s.network} network`)]),
        '</Network>',
      ]),
      ...section('VirtualSystem', { 'ovf:id': input.name }, 'A virtual machine', [
        el('Name', input.name),
        ...section(
          'OperatingSystemSection',
          { 'ovf:id': s.os.cimId, 'vmw:osType': s.os.vmwareType },
          'The kind of installed guest operating system',
          [],
        ),
        ...section(
          'VirtualHardwareSection',
          // Without a transport vSphere keeps the properties to itself.
          { 'ovf:transport': s.properties.length ? GUESTINFO_TRANSPORT : undefined },
          'Virtual hardware requirements',
          [
            '<System>',
            ...indent([
              el('vssd:ElementName', 'Virtual Hardware Family'),
              el('vssd:InstanceID', 0),
              el('vssd:VirtualSystemIdentifier', input.name),
              el('vssd:VirtualSystemType', s.hardwareVersion),
            ]),
            '</System>',
            ...hardwareItems(input),
          ],
        ),
        ...productSection(s),
      ]),
    ]),
    '</Envelope>',
  ];
  return lines.join('\n') + '\n';
}
