import { readFile } from 'node:fs/promises';
import { InternalError } from '../errors.js';

const TEMPLATES_DIR = new URL('../../templates/', import.meta.url);

/** Template files under templates/ that the init layer renders. */
export type TemplateName =
  | 'init/bootstrap.sh.hbs'
  | 'tether/tether.sh.hbs'
  | 'microvm/init.sh.hbs'
  | 'microvm/initrd.sh.hbs';

/**
 * Renders a shell-script template. No HTML escaping (the output is a script) and strict mode, so a
 * value the template uses but the caller forgot fails here instead of leaving a blank in a script.
 */
export async function renderTemplate(name: TemplateName, data: Record<string, unknown>): Promise<string> {
  const source = await readFile(new URL(name, TEMPLATES_DIR), 'utf8');
  try {
    return (await loadHandlebars()).compile(source, { noEscape: true, strict: true })(data);
  } catch (err) {
    throw new InternalError(`cannot render templates/${name}: ${(err as Error).message}`, { cause: err });
  }
}

/** Values spliced into scripts must be plain words: module names, kernel versions, paths. */
export function assertShellWord(what: string, value: string): string {
  if (!/^[A-Za-z0-9_.+:/-]+$/.test(value))
    throw new InternalError(`${what} "${value}" is not a plain word and cannot go into the init script`);
  return value;
}

/** Loaded when a template is rendered, not when the CLI starts (a no-op build renders none). */
export async function loadHandlebars() {
  return (await import('handlebars')).default;
}
