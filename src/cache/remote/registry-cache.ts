import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InterruptedError, RefusedEntryError } from '../../errors.js';
import { throwIfCancelled } from '../../exec/cancel.js';
import { toFileSystemError } from '../../fs/fs-error.js';
import type { Logger } from '../../log/logger.js';
import { removeTree } from '../../fs/fs-tree.js';
import type { EntryFiles, RemoteStageCache, StageLink, StageMeta } from '../../stage/types.js';
import { RegistryClient } from '../../registry/client.js';
import { DigestMismatchError, RegistryError } from '../../registry/errors.js';
import type { Descriptor } from '../../registry/oci.js';
import { parseRepositoryRef } from '../../registry/reference.js';
import { stageTag } from './media-types.js';
import { pullStageEntry, pushStageEntry } from './stage-artifact.js';
import { formatBytes } from '../../fs/disk-space.js';

/**
 * The stage cache in an OCI registry (`--cache-from`, `--cache-to`, ISOBUILD_CACHE_REGISTRY).
 * A registry that is down or refuses is a warning, once, and is not asked again during the
 * build: the build goes on with the local cache.
 */
export interface RegistryCacheOptions {
  /** Repository to pull entries from. */
  from?: string;
  /** Repository to push entries to. */
  to?: string;
  /** Scratch space for archives, on the cache's disk (its tmp/ folder). */
  scratchDir: string;
  sourceDateEpoch: number;
  logger: Logger;
}

export interface RegistryCacheStats {
  pulledEntries: number;
  pulledBytes: number;
  pushedEntries: number;
  pushedBytes: number;
}

/** The cache flags and variable, resolved: `--cache-from`/`--cache-to` win over ISOBUILD_CACHE_REGISTRY, which means both. */
export function registryRefs(
  flags: { cacheFrom?: string; cacheTo?: string },
  env: NodeJS.ProcessEnv = process.env,
): { from?: string; to?: string } {
  const shared = env.ISOBUILD_CACHE_REGISTRY || undefined;
  return { from: flags.cacheFrom ?? shared, to: flags.cacheTo ?? shared };
}

export class RegistryStageCache implements RemoteStageCache {
  readonly name: string;
  readonly stats: RegistryCacheStats = { pulledEntries: 0, pulledBytes: 0, pushedEntries: 0, pushedBytes: 0 };
  private readonly trees = new Map<string, Descriptor>();
  /** Registries that failed once during this build. */
  private readonly failed = new Set<RegistryClient>();
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly from: RegistryClient | undefined,
    private readonly to: RegistryClient | undefined,
    private readonly options: RegistryCacheOptions,
  ) {
    this.name = (from ?? to)!.ref.text;
  }

  /** Undefined when neither a source nor a destination is set. References are checked here, before any work. */
  static async open(options: RegistryCacheOptions): Promise<RegistryStageCache | undefined> {
    const fromRef = options.from ? parseRepositoryRef(options.from, '--cache-from') : undefined;
    const toRef = options.to ? parseRepositoryRef(options.to, '--cache-to') : undefined;
    if (!fromRef && !toRef) return undefined;
    const from = fromRef && (await RegistryClient.open(fromRef, { blobTimeoutMs: 1_800_000 }));
    const to =
      toRef &&
      (toRef.text === fromRef?.text ? from : await RegistryClient.open(toRef, { blobTimeoutMs: 1_800_000 }));
    return new RegistryStageCache(from, to, options);
  }

  async findDeepest(links: readonly StageLink[]): Promise<number> {
    const client = this.usable(this.from);
    if (!client) return -1;
    try {
      for (let i = links.length - 1; i >= 0; i--)
        if (await client.hasManifest(stageTag(links[i]!.stage, links[i]!.key))) return i;
      return -1;
    } catch (err) {
      this.fail(client, err, 'building without it');
      return -1;
    }
  }

  async pull(link: StageLink, work: string): Promise<StageMeta> {
    const client = this.usable(this.from);
    if (!client) throw new Error('the registry failed earlier in this build');
    const started = Date.now();
    const tag = stageTag(link.stage, link.key);
    const { meta, bytes } = await pullStageEntry(client, tag, link, work).catch((err: unknown) => {
      // A blob that is not what its digest says is this entry's fault: the pipeline may try the
      // entries below it. A registry that cannot be reached is not asked again in this build.
      if (err instanceof DigestMismatchError)
        throw new RefusedEntryError(
          `${client.ref.text}:${tag}`,
          `${err.url}: content digest is ${err.actual}, expected ${err.expected}`,
          { cause: err },
        );
      if (err instanceof RegistryError) this.failed.add(client);
      throw err;
    });
    this.stats.pulledEntries++;
    this.stats.pulledBytes += bytes;
    const seconds = (Date.now() - started) / 1000;
    this.options.logger.event(
      { type: 'pull', stage: link.stage, key: link.key, registry: client.ref.text, bytes, seconds },
      `pulled ${link.stage} from ${client.ref.text} (${formatBytes(bytes)} in ${seconds.toFixed(1)} s)`,
    );
    return meta;
  }

  /** Pushes run one at a time, in the order asked, behind the build. */
  push(link: StageLink, entry: EntryFiles): Promise<void> {
    const next = this.queue.then(() => this.pushNow(link, entry));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async pushNow(link: StageLink, entry: EntryFiles): Promise<void> {
    const client = this.usable(this.to);
    if (!client) return;
    const tag = stageTag(link.stage, link.key);
    const scratch = join(this.options.scratchDir, `push-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      if (await client.hasManifest(tag)) return;
      const started = Date.now();
      await mkdir(scratch, { recursive: true });
      const { bytes, manifestDigest } = await pushStageEntry(
        client,
        tag,
        link,
        entry,
        scratch,
        this.options.sourceDateEpoch,
        this.trees,
      );
      this.stats.pushedEntries++;
      this.stats.pushedBytes += bytes;
      const seconds = (Date.now() - started) / 1000;
      this.options.logger.event(
        {
          type: 'push',
          stage: link.stage,
          key: link.key,
          registry: client.ref.text,
          digest: manifestDigest,
          bytes,
          seconds,
        },
        `pushed ${link.stage} to ${client.ref.text} (${formatBytes(bytes)} sent in ${seconds.toFixed(1)} s)`,
      );
    } catch (err) {
      // A full scratch disk names its path and space, not node's errno text.
      this.fail(
        client,
        (await toFileSystemError(err, { what: 'scratch', path: scratch })) ?? err,
        'not pushing to it',
      );
    } finally {
      await removeTree(scratch);
    }
  }

  private usable(client: RegistryClient | undefined): RegistryClient | undefined {
    return client && !this.failed.has(client) ? client : undefined;
  }

  private fail(client: RegistryClient, err: unknown, consequence: string): void {
    throwIfCancelled();
    if (err instanceof InterruptedError) throw err;
    this.failed.add(client);
    this.options.logger.warn(`registry ${client.ref.text}: ${(err as Error).message}; ${consequence}`);
  }
}
