import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { splitCmdline } from './cmdline.js';
import { quoteCommand } from '../exec/shell-quote.js';
import { loadHandlebars } from '../tether/render.js';

/** templates/boot/, from src/image/ or dist/image/ alike. */
export const BOOT_TEMPLATES = fileURLToPath(new URL('../../templates/boot/', import.meta.url));

export interface BootConfigValues {
  version: string;
  repo: string;
  volid: string;
  cmdline: string;
  /** The profile's log port (ttyS<N>): the boot loader talks there too. */
  serialPort?: number;
  /** Paths in the ISO (the profile's names); boot/vmlinuz and boot/initrd.img by default. */
  kernel?: string;
  initrd?: string;
  /** Whether isolinux shows boot.msg (VIC's profile). */
  bootMsg?: boolean;
}

async function render(name: string, v: BootConfigValues & Record<string, unknown>): Promise<string> {
  const values = {
    serialPort: 0,
    kernel: 'boot/vmlinuz',
    initrd: 'boot/initrd.img',
    bootMsg: false,
    ...v,
  };
  const source = await readFile(BOOT_TEMPLATES + name, 'utf8');
  // noEscape: these are boot loader files, not HTML; quoting is done per loader below.
  return (await loadHandlebars()).compile(source, { noEscape: true, strict: true })(values);
}

/** isolinux passes its APPEND line to the kernel verbatim; only a line break could end it early. */
export async function renderIsolinuxCfg(v: BootConfigValues): Promise<string> {
  return render('isolinux.cfg.hbs', { ...v, cmdline: v.cmdline.replace(/\s+/g, ' ') });
}

export async function renderGrubCfg(v: BootConfigValues): Promise<string> {
  // GRUB parses `linux` arguments like a shell: `$`, `;` and quotes are its own, and it takes
  // single-quoted words literally.
  const grubArgs = quoteCommand(splitCmdline(v.cmdline));
  return render('grub.cfg.hbs', { ...v, grubArgs });
}

/** A GPT disk's loaders: the same values, with the ESP's FAT id (XXXX-XXXX) GRUB searches for. */
export async function renderDiskBootConfigs(
  v: BootConfigValues & { espUuid: string },
): Promise<{ grub: string; syslinux: string }> {
  const grubArgs = quoteCommand(splitCmdline(v.cmdline));
  return {
    grub: await render('disk-grub.cfg.hbs', { ...v, grubArgs }),
    syslinux: await render('syslinux.cfg.hbs', { ...v, cmdline: v.cmdline.replace(/\s+/g, ' ') }),
  };
}
