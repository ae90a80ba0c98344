import { BuildError } from '../errors.js';
import type { RunOptions, RunResult } from '../exec/run.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** The GPT type GUID of an EFI system partition. */
export const ESP_TYPE_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

interface SfdiskJson {
  partitiontable?: {
    label?: string;
    sectorsize?: number;
    partitions?: { start: number; type: string }[];
  };
}

/** The byte offset of the first EFI system partition in `sfdisk --json`'s table, or undefined. */
export function espOffset(sfdiskJson: string): number | undefined {
  const table = (JSON.parse(sfdiskJson) as SfdiskJson).partitiontable;
  if (table?.label !== 'gpt') return undefined;
  const esp = table.partitions?.find((p) => p.type.toUpperCase() === ESP_TYPE_GUID);
  return esp ? esp.start * (table.sectorsize ?? 512) : undefined;
}

/**
 * Where a raw disk's ESP starts, read with sfdisk: undefined when the file has no GPT (a FAT
 * image also ends its first sector with 55 AA), an error when its GPT has no ESP.
 */
export async function findEsp(run: Runner, rawDisk: string): Promise<number | undefined> {
  const res = await run('sfdisk', ['--json', rawDisk], { allowFailure: true });
  if (res.exitCode !== 0) return undefined;
  const table = (JSON.parse(res.stdout) as SfdiskJson).partitiontable;
  if (table?.label !== 'gpt') return undefined;
  const offset = espOffset(res.stdout);
  if (offset === undefined)
    throw new BuildError(`${rawDisk}: its GPT has no EFI system partition (type ${ESP_TYPE_GUID})`);
  return offset;
}
