import type { Command } from 'commander';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, parseDocument } from 'yaml';
import { UsageError } from '../errors.js';
import { writeEvent } from '../log/events.js';
import { showPath } from '../spec/document.js';
import { LOCK_FILE } from '../lock/lock-file.js';
import { locateRepo, SHIPPED_REPOS } from '../spec/load.js';
import { loggerFor, nextCommand, reposDir, type GlobalOptions } from './context.js';

interface NewFlags {
  from?: string;
}

const SCHEMA = fileURLToPath(new URL('../../schemas/repo-spec.schema.json', import.meta.url));
const SPEC_FILES = ['repo-spec.json', 'repo-spec.yaml', 'repo-spec.yml'] as const;

/**
 * The repo `new` writes without --from (templates/new-repo/): a minimal Debian repo shaped like
 * repos/debian-12, the spec and an init.sh with its drivers. Its release is set, not derived:
 * the new name says nothing about the Debian release it builds.
 */
const STARTER = fileURLToPath(new URL('../../templates/new-repo/', import.meta.url));

async function starterFiles(name: string, dest: string): Promise<Record<string, string>> {
  const spec = JSON.parse(await readFile(join(STARTER, 'starter-spec.json'), 'utf8')) as object;
  return {
    'repo-spec.json': JSON.stringify({ $schema: relative(dest, SCHEMA), name, ...spec }, null, 4) + '\n',
    'init.sh': await readFile(join(STARTER, 'init.sh'), 'utf8'),
  };
}

/**
 * Set `name` in a copied spec by replacing only its value's text, so comments, key order and
 * formatting stay as written (JSON and YAML alike: a JSON string is a YAML scalar too).
 */
export function renameSpec(text: string, name: string, file: string): string {
  const doc = parseDocument(text);
  const node = isMap(doc.contents) ? doc.contents.get('name', true) : undefined;
  if (doc.errors.length || !isScalar(node) || !node.range)
    throw new UsageError(`${showPath(file)}: cannot find a "name" to rewrite: fix the spec first`);
  const [start, end] = node.range;
  return text.slice(0, start) + JSON.stringify(name) + text.slice(end);
}

async function listFiles(dir: string, under = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, under), { withFileTypes: true })) {
    const rel = under ? `${under}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/**
 * The repo `--from` names: in the repos folder, else among the repos isobuild ships (`new mine
 * --from photon-2.0 --repos DIR` starts a repo in DIR from the shipped sample).
 */
async function locateSource(ref: string, repos: string): Promise<string> {
  try {
    return await locateRepo(ref, repos);
  } catch (err) {
    if (resolve(repos) === SHIPPED_REPOS) throw err;
    return locateRepo(ref, SHIPPED_REPOS).catch(() => Promise.reject(err));
  }
}

async function copyRepo(from: string, dest: string, name: string): Promise<void> {
  // The lock names the repo it was made for and its packages: the copy makes its own (isobuild lock).
  await cp(from, dest, {
    recursive: true,
    errorOnExist: true,
    force: false,
    verbatimSymlinks: true,
    filter: (src) => src !== join(from, LOCK_FILE),
  });
  for (const spec of SPEC_FILES) {
    const file = join(dest, spec);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) await writeFile(file, renameSpec(text, name, join(from, spec)));
  }
}

export function registerNew(program: Command): void {
  program
    .command('new')
    .description('create a repo folder that validates: a minimal apt repo, or a copy of another repo')
    .argument('<name>', 'the new repo (a folder of that name under the repos folder)')
    .option('--from <repo>', 'copy this repo, with its name rewritten')
    .action(async (name: string, flags: NewFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
        throw new UsageError(`"${name}" is not a repo name: use letters, digits, ".", "_" and "-"`);
      const repos = reposDir(globals);
      const dest = join(repos, name);
      if (await stat(dest).catch(() => undefined))
        throw new UsageError(`${showPath(dest)} already exists: pick another name or remove it`);
      const from = flags.from !== undefined ? await locateSource(flags.from, repos) : undefined;
      await mkdir(repos, { recursive: true });
      try {
        if (from) await copyRepo(from, dest, name);
        else {
          await mkdir(dest);
          for (const [file, text] of Object.entries(await starterFiles(name, dest)))
            await writeFile(join(dest, file), text, { mode: file.endsWith('.sh') ? 0o755 : 0o644 });
        }
      } catch (err) {
        // Nothing partial: a half-copied repo would fail validation in confusing ways.
        await rm(dest, { recursive: true, force: true });
        throw err;
      }
      const files = await listFiles(dest);
      if (globals.json)
        writeEvent({ type: 'created', repo: name, path: dest, from: from ? basename(from) : null, files });
      else
        logger.info(
          `created ${showPath(dest)}${from ? ` from ${basename(from)}` : ''}: ${files.join(', ')} (${nextCommand(globals, 'validate', name)})`,
        );
    });
}
