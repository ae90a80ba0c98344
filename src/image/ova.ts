import { link, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BuildError } from '../errors.js';
import { run } from '../exec/run.js';
import { sha256File } from '../fs/hash.js';
import { createOrderedArchive } from '../fs/tree-archive.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { tempSibling } from '../fs/replace-file.js';
import { copyInto, moveFile } from './files.js';
import { makeOvfDescriptor, type OvaSettings } from './ova-descriptor.js';

/**
 * An OVA: the OVF descriptor, the manifest of SHA256 digests and the streamOptimized VMDK, tarred
 * in that order (DSP0243 §5.3: the descriptor first, then the manifest, then the files in the
 * order References lists them), reproducibly (src/fs/tree-archive.ts).
 */

export interface OvaInput {
  /** The streamOptimized VMDK (the disk stage's vmdk format). */
  readonly vmdk: string;
  /** The OVA file to write. */
  readonly dest: string;
  /** The virtual system's name and the members' base name (the repo's name). */
  readonly name: string;
  readonly settings: OvaSettings;
  readonly sourceDateEpoch: number;
  readonly logger?: Logger;
}

/** The members, in the order OVF requires. */
export function ovaMembers(name: string): { ovf: string; manifest: string; disk: string } {
  return { ovf: `${name}.ovf`, manifest: `${name}.mf`, disk: `${name}-disk1.vmdk` };
}

/** ovftool's manifest lines: `SHA256(<member>)= <hex>`, one per file, descriptor first. */
export function formatManifest(digests: readonly { name: string; sha256: string }[]): string {
  return digests.map((d) => `SHA256(${d.name})= ${d.sha256}\n`).join('');
}

export interface VmdkFacts {
  /** The disk's virtual size in bytes. */
  capacityBytes: number;
  /** Bytes of the disk that hold data. */
  populatedBytes: number;
}

/**
 * What the descriptor says of the disk, from qemu-img, which also proves the file is a
 * streamOptimized VMDK (a monolithicSparse one imports on ESXi's command line, not from an OVA).
 */
export async function readVmdkFacts(vmdk: string, logger: Logger = silentLogger): Promise<VmdkFacts> {
  const opts = { stage: 'ova', logger };
  const info = JSON.parse((await run('qemu-img', ['info', '--output=json', vmdk], opts)).stdout) as {
    format?: string;
    'virtual-size'?: number;
    'format-specific'?: { data?: { 'create-type'?: string } };
  };
  const createType = info['format-specific']?.data?.['create-type'];
  if (info.format !== 'vmdk' || createType !== 'streamOptimized')
    throw new BuildError(
      `output ova: ${vmdk} is ${info.format ?? 'an unknown format'}${createType ? ` (${createType})` : ''}, not a streamOptimized VMDK`,
      'ova',
    );
  const extents = JSON.parse((await run('qemu-img', ['map', '--output=json', vmdk], opts)).stdout) as {
    length: number;
    data: boolean;
  }[];
  return {
    capacityBytes: info['virtual-size'] ?? 0,
    populatedBytes: extents.filter((e) => e.data).reduce((sum, e) => sum + e.length, 0),
  };
}

/** Writes the OVA through a temp name beside `dest`; returns the members' digests. */
export async function writeOva(input: OvaInput): Promise<{ name: string; sha256: string }[]> {
  const logger = input.logger ?? silentLogger;
  const members = ovaMembers(input.name);
  const facts = await readVmdkFacts(input.vmdk, logger);
  const work = tempSibling(input.dest);
  await mkdir(dirname(input.dest), { recursive: true });
  await mkdir(work);
  try {
    const disk = join(work, members.disk);
    // A link where the file system allows it: the VMDK can be gigabytes, and tar only reads it.
    await link(input.vmdk, disk).catch(() => copyInto(input.vmdk, disk));
    const descriptor = makeOvfDescriptor({
      name: input.name,
      settings: input.settings,
      disk: { href: members.disk, fileBytes: (await stat(disk)).size, ...facts },
    });
    await writeFile(join(work, members.ovf), descriptor);
    const digests = [];
    for (const name of [members.ovf, members.disk])
      digests.push({ name, sha256: await sha256File(join(work, name)) });
    await writeFile(join(work, members.manifest), formatManifest(digests));
    const tar = join(work, basename(input.dest));
    await createOrderedArchive(
      work,
      [members.ovf, members.manifest, members.disk],
      tar,
      input.sourceDateEpoch,
      { stage: 'ova', logger },
    );
    await moveFile(tar, input.dest);
    return digests;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
