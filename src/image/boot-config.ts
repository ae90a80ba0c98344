import Handlebars from 'handlebars';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { splitCmdline } from './cmdline.js';

/** templates/boot/, from src/image/ or dist/image/ alike. */
export const BOOT_TEMPLATES = fileURLToPath(new URL('../../templates/boot/', import.meta.url));

export interface BootConfigValues {
  version: string;
  repo: string;
  volid: string;
  cmdline: string;
}

async function render(name: string, values: Record<string, string>): Promise<string> {
  const source = await readFile(BOOT_TEMPLATES + name, 'utf8');
  // noEscape: these are boot loader files, not HTML; quoting is done per loader below.
  return Handlebars.compile(source, { noEscape: true, strict: true })(values);
}

/** isolinux passes its APPEND line to the kernel verbatim; only a line break could end it early. */
export async function renderIsolinuxCfg(v: BootConfigValues): Promise<string> {
  return render('isolinux.cfg.hbs', { ...v, cmdline: v.cmdline.replace(/\s+/g, ' ') });
}

/**
 * GRUB parses `linux` arguments like a shell: `$`, `;`, quotes and the like are its own.
 * Each kernel word that holds anything beyond plain characters is single-quoted, which GRUB
 * takes literally.
 */
export function quoteGrubWord(word: string): string {
  if (/^[A-Za-z0-9_.,:=/+@%-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export async function renderGrubCfg(v: BootConfigValues): Promise<string> {
  const grubArgs = splitCmdline(v.cmdline).map(quoteGrubWord).join(' ');
  return render('grub.cfg.hbs', { ...v, grubArgs });
}
