import type { Command } from 'commander';
import { resolve } from 'node:path';
import { diffManifests } from '../inventory/diff.js';
import { formatDiff, outputsDiffer, readManifestOf } from '../inventory/diff-text.js';
import { cacheLayout, lookupEntry } from '../cache/cache.js';
import { writeEvent } from '../log/events.js';
import { cacheRoot, type GlobalOptions } from './context.js';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description(
      'compare two outputs (or their .manifest.json): packages, initrd files, first differing stage',
    )
    .argument('<a>', 'an output isobuild wrote (ISO, kernel+initrd folder...) or its manifest')
    .argument('<b>', 'the other output or manifest')
    .action(async (a: string, b: string, _flags: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const [ma, mb] = await Promise.all([readManifestOf(resolve(a)), readManifestOf(resolve(b))]);
      const d = diffManifests(ma, mb);
      let cached: boolean | undefined;
      if (d.firstStage) {
        const layout = cacheLayout(cacheRoot());
        const [ka, kb] = d.firstStage.keys;
        cached =
          !!(await lookupEntry(layout, ma.repo, d.firstStage.stage, ka)) &&
          !!(await lookupEntry(layout, mb.repo, d.firstStage.stage, kb));
      }
      // 1 when they differ, as diff(1) and `ci --check`: a script can test it.
      if (outputsDiffer(d)) process.exitCode = 1;
      if (globals.json) {
        writeEvent({ type: 'diff', a, b, ...d, bothInCache: cached ?? null });
        return;
      }
      process.stdout.write(formatDiff(d, cached, [ma.repo, mb.repo]).join('\n') + '\n');
    });
}
