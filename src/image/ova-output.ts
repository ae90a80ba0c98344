import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RAW_DISK_ARTIFACT, writeDiskFormat } from './disk-write.js';
import type { BuildPlan } from '../stage/types.js';
import { tempSibling } from '../fs/replace-file.js';
import { ovaMembers, writeOva } from './ova.js';
import { ovaSettingsOf } from './ova-settings.js';

/** What the ova output reads: the disk-image stage's raw disk. */
export function ovaOutputReads(artifacts: string): string[] {
  return [join(artifacts, RAW_DISK_ARTIFACT)];
}

/**
 * The `ova` output: the disk-image stage's GPT disk as a streamOptimized VMDK (the vmdk output's
 * own conversion, content id included), wrapped with its OVF descriptor and manifest. The VMDK is
 * converted under its member name: its embedded descriptor names its extent file, and a temp
 * name there would make two OVAs of one disk differ.
 */
export async function writeOvaOutput(artifacts: string, dest: string, plan: BuildPlan): Promise<void> {
  const work = tempSibling(dest);
  await mkdir(dirname(dest), { recursive: true });
  await mkdir(work);
  try {
    const vmdk = join(work, ovaMembers(plan.spec.name).disk);
    await writeDiskFormat(artifacts, vmdk, 'vmdk');
    await writeOva({
      vmdk,
      dest,
      name: plan.spec.name,
      settings: ovaSettingsOf(plan.spec),
      sourceDateEpoch: plan.options.sourceDateEpoch,
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
