import { basename } from 'node:path';
import { UndeclaredToolError } from '../errors.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { readToolVersion } from '../exec/tool-version.js';
import { exists } from '../fs/exists.js';

/**
 * A stage's commands are declared once (Stage.commands); everything else about them is derived
 * here: the key's tool versions and host files, the plan's list, and the guard on ctx.run.
 */

type RunFn = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

function isHostFile(tool: string): boolean {
  return tool.startsWith('/');
}

/** Each declared tool's version line, once per tool and arguments, sorted: what the key holds. */
export async function declaredToolVersions(commands: readonly DeclaredTool[]): Promise<string[]> {
  const asked = new Map<string, Promise<string>>();
  for (const c of commands) {
    if (c.version === 'none') continue;
    const id = `${c.tool}\0${c.version.join('\0')}`;
    if (!asked.has(id)) asked.set(id, readToolVersion(c.tool, c.version));
  }
  return (await Promise.all(asked.values())).sort();
}

/** The declared host files (boot loaders, the static busybox) that exist: their content is keyed. */
export async function declaredHostFiles(commands: readonly DeclaredTool[]): Promise<string[]> {
  const files = [...new Set(commands.map((c) => c.tool).filter(isHostFile))];
  const present = await Promise.all(files.map((f) => exists(f)));
  return files.filter((_, i) => present[i]);
}

/** The plan's line naming what the stage runs, or none when it runs nothing. */
export function describeCommands(commands: readonly DeclaredTool[]): string[] {
  const tools = [...new Set(commands.filter((c) => !isHostFile(c.tool)).map((c) => c.tool))].sort();
  return tools.length ? [`# runs: ${tools.join(', ')}`] : [];
}

/**
 * The stage's ctx.run: runs `file` only if the stage declared it (by name, or a path whose
 * name is declared), so a tool cannot be run without being checked, keyed and planned.
 */
export function declaredRun(stage: string, commands: readonly DeclaredTool[], run: RunFn): RunFn {
  const allowed = new Set(commands.map((c) => c.tool as string));
  return (file, args, opts) => {
    if (!allowed.has(file) && !allowed.has(basename(file)))
      return Promise.reject(new UndeclaredToolError(stage, file, [...allowed].sort()));
    return run(file, args, opts);
  };
}
