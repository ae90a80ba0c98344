import { readFile } from 'node:fs/promises';
import { hostPath, walkInRoot } from '../rootfs/root-path.js';

/**
 * The kernel-module files the init's drivers need: each driver's module and its
 * dependencies from modules.dep, plus the modules.* indexes modprobe reads. Nothing in the
 * trace shows these (the workloads do not load drivers), so they are added by name.
 */
function moduleName(file: string): string {
  const base = file.split('/').pop() ?? file;
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

export async function driverModulePaths(
  root: string,
  kernelVersion: string | undefined,
  drivers: readonly string[],
): Promise<string[]> {
  if (!kernelVersion) return [];
  const base = `/lib/modules/${kernelVersion}`;
  const dir = await walkInRoot(root, base);
  if (!dir.stat?.isDirectory()) return [];
  const dep = await walkInRoot(root, `${dir.path}/modules.dep`);
  const depText = dep.stat?.isFile() ? await readFile(hostPath(root, dep.path), 'utf8').catch(() => '') : '';
  const deps = new Map<string, { file: string; needs: string[] }>();
  for (const line of depText.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const file = m[1] as string;
    deps.set(moduleName(file), { file, needs: (m[2] as string).split(/\s+/).filter(Boolean) });
  }
  const out = new Set<string>();
  const addFile = (rel: string) => {
    const entry = deps.get(moduleName(rel));
    const file = entry?.file ?? rel;
    const abs = file.startsWith('/') ? file : `${base}/${file}`;
    if (out.has(abs)) return;
    out.add(abs);
    for (const need of entry?.needs ?? []) addFile(need);
  };
  for (const d of drivers) {
    // meta.drivers holds names (virtio_net) or, once resolved, module paths: accept both.
    if (d.includes('/') || deps.has(moduleName(d))) addFile(d);
  }
  return [...out].sort();
}

/** The modules.* files of the kernel (indexes modprobe and depmod read). */
export function moduleIndexGlobs(kernelVersion: string | undefined): string[] {
  return kernelVersion ? [`/lib/modules/${kernelVersion}/modules.*`] : [];
}
