import type { RunOptions, RunResult } from '../exec/run.js';
import { unpackThenMerge } from '../rootfs/merge-tree.js';
import { LOCAL_TAG } from './fetch-image.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/**
 * Lay an image's layers into the root. umoci applies them in order with the OCI rules —
 * `.wh.NAME` deletes NAME, `.wh..wh..opq` empties the folder below — keeps owners and modes
 * (as root; rootless it maps them to the caller), and resolves every path inside the bundle,
 * so no layer writes outside it. The result is then merged over the laid-out root.
 */
export async function unpackImage(
  layout: string,
  root: string,
  tmpDir: string,
  run: Runner,
  stage?: string,
): Promise<void> {
  const rootless = process.getuid?.() !== 0 ? ['--rootless'] : [];
  await unpackThenMerge(
    tmpDir,
    root,
    async (target) =>
      void (await run('umoci', ['raw', 'unpack', ...rootless, '--image', `${layout}:${LOCAL_TAG}`, target])),
    { stage },
  );
}
