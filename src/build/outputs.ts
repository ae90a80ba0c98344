import { resolve } from 'node:path';
import { exportRoot } from '../fs/export-root.js';
import { withFileSystemErrors } from '../fs/fs-error.js';
import { measureTree } from '../fs/measure-tree.js';
import { digestOutput } from '../image/output-digest.js';
import { writeOutputs } from '../image/outputs.js';
import type { Logger } from '../log/logger.js';
import type { PipelineResult } from '../pipeline/run-pipeline.js';
import { outputPathFor } from '../stage/targets.js';
import type { BuildPlan, OutputFormat } from '../stage/types.js';
import type { BuiltOutput } from './request.js';

/**
 * `output` names the target's first output (the ISO of an app build); every other output goes
 * to its default path under `outputDir` (the targets table: bin/bootstrap-<repo>.iso...).
 */
export function outputPath(
  plan: BuildPlan,
  format: OutputFormat,
  where: { output?: string; outputDir: string },
): string {
  if (where.output && format === plan.outputs[0]) return resolve(where.output);
  return resolve(outputPathFor(plan.target, format, plan.spec.name, where.outputDir));
}

/** Writes the target's outputs from the last stage's entry; each one's `output` event carries its digest. */
export async function writeTargetOutputs(
  plan: BuildPlan,
  result: PipelineResult,
  output: string | undefined,
  logger: Logger,
): Promise<BuiltOutput[]> {
  const where = { output, outputDir: plan.options.outputDir };
  const destinations = Object.fromEntries(plan.outputs.map((f) => [f, outputPath(plan, f, where)]));
  const written = await writeOutputs(
    plan,
    { artifacts: result.final.artifacts, rootfs: result.final.rootfs },
    destinations,
    logger,
  );
  const outputs: BuiltOutput[] = [];
  for (const [i, path] of written.entries()) {
    const digest = await digestOutput(path);
    logger.event({ type: 'output', format: plan.outputs[i], path, ...digest });
    outputs.push({ format: plan.outputs[i]!, path, digest });
  }
  return outputs;
}

/** `exportTo`: the last stage's root as a folder or tarball; where it went. */
export async function exportFinalRoot(
  plan: BuildPlan,
  result: PipelineResult,
  to: string,
  logger: Logger,
): Promise<string> {
  const from = result.final.rootfs;
  const dest = await withFileSystemErrors(
    { what: '--export', path: resolve(to), neededBytes: async () => (await measureTree(from)).bytes },
    () => exportRoot(from, to, plan.options.sourceDateEpoch),
  );
  logger.event({ type: 'export', path: dest }, `exported the ${plan.stages.at(-1)?.name} root to ${dest}`);
  return dest;
}
