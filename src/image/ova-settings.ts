import type { ResolvedSpec } from '../spec/types.js';
import type { Ova } from '../spec/repo-spec.generated.js';
import type { OvaProperty, OvaSettings } from './ova-descriptor.js';
import { imageVersion } from './profile.js';

/**
 * The properties an OVA offers when the spec lists none: the first-boot keys
 * (templates/firstboot/firstboot.sh reads each from guestinfo.ovfEnv), so a vSphere deploy sets
 * the appliance's name, address and SSH key in its wizard.
 */
export const FIRSTBOOT_PROPERTIES: readonly OvaProperty[] = [
  { key: 'hostname', type: 'string', label: 'Host name', description: 'Empty: the image keeps its own.' },
  {
    key: 'ip',
    type: 'string',
    label: 'IP address',
    description:
      'dhcp, or ADDRESS/PREFIX (e.g. 192.0.2.10/24). Empty: the image keeps its own network setup.',
  },
  { key: 'gateway', type: 'string', label: 'Default gateway', description: 'With a static address.' },
  { key: 'dns', type: 'string', label: 'DNS servers', description: 'Comma-separated addresses.' },
  {
    key: 'ssh_key',
    type: 'string',
    label: "root's SSH public key",
    description: 'One authorized_keys line.',
  },
];

export const OVA_DEFAULTS = {
  cpus: 2,
  memory: 1024,
  firmware: 'bios',
  controller: 'pvscsi',
  nic: 'vmxnet3',
  network: 'VM Network',
  hardwareVersion: 'vmx-13',
  // CIM_OperatingSystem.OsType 101 is "Linux 64-Bit"; other3xLinux64Guest is known to ESXi 6.5 and later.
  os: { cimId: 101, vmwareType: 'other3xLinux64Guest' },
} as const;

/** The spec's `ova` section with its defaults (docs/spec.md#ova). */
export function ovaSettingsOf(
  spec: Pick<ResolvedSpec, 'name' | 'version'> & { raw: { ova?: Ova } },
): OvaSettings {
  const ova = spec.raw.ova ?? {};
  const product = ova.product ?? {};
  const version = product.version ?? imageVersion(spec);
  return {
    cpus: ova.cpus ?? OVA_DEFAULTS.cpus,
    memory: ova.memory ?? OVA_DEFAULTS.memory,
    firmware: ova.firmware ?? OVA_DEFAULTS.firmware,
    controller: ova.controller ?? OVA_DEFAULTS.controller,
    nic: ova.nic ?? OVA_DEFAULTS.nic,
    network: ova.network ?? OVA_DEFAULTS.network,
    hardwareVersion: ova.hardware_version ?? OVA_DEFAULTS.hardwareVersion,
    os: ova.os ? { cimId: ova.os.cim_id, vmwareType: ova.os.vmware_os_type } : OVA_DEFAULTS.os,
    product: {
      name: product.name ?? spec.name,
      version,
      ...(product.full_version !== undefined ? { fullVersion: product.full_version } : {}),
      ...(product.vendor !== undefined ? { vendor: product.vendor } : {}),
      ...(product.product_url !== undefined ? { productUrl: product.product_url } : {}),
      ...(product.vendor_url !== undefined ? { vendorUrl: product.vendor_url } : {}),
    },
    properties: ova.properties
      ? ova.properties.map((p) => ({
          key: p.key,
          type: p.type ?? 'string',
          ...(p.default !== undefined ? { default: p.default } : {}),
          ...(p.label !== undefined ? { label: p.label } : {}),
          ...(p.description !== undefined ? { description: p.description } : {}),
          ...(p.password ? { password: true } : {}),
        }))
      : FIRSTBOOT_PROPERTIES,
  };
}
