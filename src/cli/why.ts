import type { Command } from 'commander';
import { resolve } from 'node:path';
import { explainPath, type FileOrigin } from '../inventory/why.js';
import { writeEvent } from '../log/events.js';
import type { GlobalOptions } from './context.js';
import { readManifestOf } from '../inventory/diff-text.js';

function describe(o: FileOrigin, output: string): string[] {
  if (o.found === 'absent') return [`${o.path}: not in ${output}, and no package installed it`];
  if (o.found === 'removed') {
    const { owner, by } = o.removed;
    const put =
      owner.kind === 'hook' ? `the repo hook ${owner.name} wrote it` : `package ${owner.name} installed it`;
    return [`${o.path}: not in ${output}`, `  ${put}; then removed by ${by}`];
  }
  const { file, owner } = o;
  const what = file.type === 'link' ? `link to ${file.target}` : file.type;
  if (!owner)
    return [`${o.path} (${what}): no owner recorded (a manifest from before isobuild recorded owners)`];
  return [`${o.path} (${what}): ${owner.kind}${owner.name ? ` ${owner.name}` : ''}`, `  ${owner.how}`];
}

export function registerWhy(program: Command): void {
  program
    .command('why')
    .description(
      "say where a file of an output's root came from: its package, hook, kernel or isobuild layer",
    )
    .argument('<output>', 'an output isobuild wrote (ISO, kernel+initrd folder...) or its manifest')
    .argument('<path>', 'a path in the root, e.g. /usr/bin/busybox')
    .action(async (output: string, path: string, _flags: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const origin = explainPath(await readManifestOf(resolve(output)), path);
      // 1 when the root does not have the file, as grep's "no match".
      if (origin.found !== 'present') process.exitCode = 1;
      if (globals.json) {
        writeEvent({ type: 'why', output, ...origin });
        return;
      }
      process.stdout.write(describe(origin, output).join('\n') + '\n');
    });
}
