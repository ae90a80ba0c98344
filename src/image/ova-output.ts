import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RAW_DISK_ARTIFACT, writeDiskFormat } from './disk-write.js';
import type { BuildPlan } from '../stage/types.js';
import { tempSibling } from './files.js';
import { writeOva } from './ova.js';
import { ovaSettingsOf } from './ova-settings.js';

/** What the ova output reads: the disk-image stage's raw disk. */
export function ovaOutputReads(artifacts: string): string[] {
  return [join(artifacts, RAW_DISK_ARTIFACT)];
}

/**
 * The `ova` output: the disk-image stage's GPT disk as a streamOptimized VMDK (the vmdk output's
 * own conversion, content id included), wrapped with its OVF descriptor and manifest.
 */
export async function writeOvaOutput(artifacts: string, dest: string, plan: BuildPlan): Promise<void> {
  const vmdk = `${tempSibling(dest)}.vmdk`;
  try {
    await writeDiskFormat(artifacts, vmdk, 'vmdk');
    await writeOva({
      vmdk,
      dest,
      name: plan.spec.name,
      settings: ovaSettingsOf(plan.spec),
      sourceDateEpoch: plan.options.sourceDateEpoch,
    });
  } finally {
    await rm(vmdk, { force: true });
  }
}
