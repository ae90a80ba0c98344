import { DOMParser, type Element } from '@xmldom/xmldom';
import { OVF_NAMESPACES, RESOURCE_TYPE, STREAM_OPTIMIZED_FORMAT } from '../../src/image/ova-descriptor.js';

/**
 * Checks of an OVF descriptor shared by the unit and integration tests: parsed by a
 * namespace-aware XML parser (@xmldom/xmldom), its sections in DSP8023's order, and every reference
 * resolved (File ovf:id -> Disk ovf:fileRef -> the disk item's HostResource; the disk item's
 * Parent -> the controller's InstanceID; the NIC's Connection -> a NetworkSection network).
 */

export const OVF = OVF_NAMESPACES.ovf;
const RASD = OVF_NAMESPACES.rasd;

export function parse(xml: string): Element {
  const errors: string[] = [];
  const doc = new DOMParser({
    onError: (level, msg) => {
      if (level !== 'warning') errors.push(msg);
    },
  }).parseFromString(xml, 'text/xml');
  expect(errors).toEqual([]);
  return doc.documentElement as Element;
}

/** Element children (no text nodes), optionally only those of one namespace and local name. */
export function children(parent: Element, local?: string, ns: string = OVF): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling)
    if (n.nodeType === 1) {
      const e = n as Element;
      if (!local || (e.localName === local && e.namespaceURI === ns)) out.push(e);
    }
  return out;
}

export function only(parent: Element, local: string, ns: string = OVF): Element {
  const found = children(parent, local, ns);
  expect(found).toHaveLength(1);
  return found[0] as Element;
}

export function ovfAttr(e: Element, name: string): string | null {
  return e.getAttributeNS(OVF, name);
}

export function rasd(itemEl: Element, name: string): string | undefined {
  return children(itemEl, name, RASD)[0]?.textContent ?? undefined;
}

/** Checks the descriptor's structure and that every reference resolves; returns the envelope. */
export interface ExpectedOvf {
  href: string;
  fileBytes: number;
  capacityBytes: number;
  cpus: number;
  memory: number;
  controllerSubType: string;
  nicSubType: string;
}

export function checkDescriptor(xml: string, want: ExpectedOvf): Element {
  const envelope = parse(xml);
  expect(envelope.localName).toBe('Envelope');
  expect(envelope.namespaceURI).toBe(OVF);
  // DSP8023's envelope sequence: References, the sections, then the content.
  expect(children(envelope).map((e) => e.localName)).toEqual([
    'References',
    'DiskSection',
    'NetworkSection',
    'VirtualSystem',
  ]);
  const files = children(only(envelope, 'References'), 'File');
  expect(files).toHaveLength(1);
  const file = files[0] as Element;
  expect(ovfAttr(file, 'href')).toBe(want.href);
  expect(Number(ovfAttr(file, 'size'))).toBe(want.fileBytes);

  // File ovf:id -> Disk ovf:fileRef.
  const disk = only(only(envelope, 'DiskSection'), 'Disk');
  expect(ovfAttr(disk, 'fileRef')).toBe(ovfAttr(file, 'id'));
  expect(ovfAttr(disk, 'format')).toBe(STREAM_OPTIMIZED_FORMAT);
  expect(ovfAttr(disk, 'capacityAllocationUnits')).toBe('byte');
  expect(Number(ovfAttr(disk, 'capacity'))).toBe(want.capacityBytes);
  const populated = Number(ovfAttr(disk, 'populatedSize'));
  expect(populated).toBeGreaterThan(0);
  expect(populated).toBeLessThanOrEqual(want.capacityBytes);

  const networks = children(only(envelope, 'NetworkSection'), 'Network').map((n) => ovfAttr(n, 'name'));
  const system = only(envelope, 'VirtualSystem');
  expect(children(system).map((e) => e.localName)).toEqual([
    'Info',
    'Name',
    'OperatingSystemSection',
    'VirtualHardwareSection',
    'ProductSection',
  ]);
  const hardware = only(system, 'VirtualHardwareSection');
  const items = children(hardware, 'Item');
  const byType = (t: number) => items.filter((i) => rasd(i, 'ResourceType') === String(t));
  expect(byType(RESOURCE_TYPE.cpu).map((i) => rasd(i, 'VirtualQuantity'))).toEqual([String(want.cpus)]);
  expect(byType(RESOURCE_TYPE.memory).map((i) => rasd(i, 'VirtualQuantity'))).toEqual([String(want.memory)]);
  expect(byType(RESOURCE_TYPE.memory).map((i) => rasd(i, 'AllocationUnits'))).toEqual(['byte * 2^20']);

  // Each item's InstanceID is unique; the disk item's HostResource names the Disk, its Parent
  // the controller's InstanceID; the NIC's Connection names a network of NetworkSection.
  const ids = items.map((i) => rasd(i, 'InstanceID'));
  expect(new Set(ids).size).toBe(ids.length);
  const diskItems = byType(RESOURCE_TYPE.disk);
  expect(diskItems).toHaveLength(1);
  const diskItem = diskItems[0] as Element;
  expect(rasd(diskItem, 'HostResource')).toBe(`ovf:/disk/${ovfAttr(disk, 'diskId')}`);
  const parent = items.find((i) => rasd(i, 'InstanceID') === rasd(diskItem, 'Parent'));
  expect(parent && rasd(parent, 'ResourceType')).toBe(String(RESOURCE_TYPE.scsiController));
  expect(parent && rasd(parent, 'ResourceSubType')).toBe(want.controllerSubType);
  const nics = byType(RESOURCE_TYPE.ethernet);
  expect(nics.map((n) => rasd(n, 'ResourceSubType'))).toEqual([want.nicSubType]);
  expect(networks).toContain(rasd(nics[0] as Element, 'Connection'));
  // RASD elements in the schema's (alphabetical) order.
  for (const i of items) {
    const names = children(i).map((e) => e.localName);
    expect(names).toEqual([...names].sort());
  }
  return envelope;
}
