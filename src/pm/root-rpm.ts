import { posix } from 'node:path';
import { readElf } from '../fs/elf.js';
import { readLibraryDirs } from '../rootfs/ld-paths.js';
import { ROOT_PATH_DIRS, hostPath, walkInRoot } from '../rootfs/root-path.js';

/**
 * Whether a root has an rpm program of its own that can rebuild its database, judged from the
 * files alone: a command found in the root is not run until we know it is rpm, because a
 * busybox root's `rpm` is busybox's applet, which takes none of rpm's options and would stop
 * the build with its usage text.
 */
export type RootRpmProgram =
  | { readonly kind: 'real'; readonly path: string }
  | { readonly kind: 'absent' }
  | { readonly kind: 'stand-in'; readonly path: string; readonly why: string };

/** Multi-call binaries whose applet named rpm is not rpm. */
const MULTI_CALL = /^(busybox|toybox)([.-].*)?$/;

/** The host path of an in-root library, when one named `soname` is in the root's search directories. */
async function findRootLibrary(root: string, soname: string): Promise<string | undefined> {
  for (const dir of await readLibraryDirs(root)) {
    const r = await walkInRoot(root, posix.join(dir, soname));
    if (r.stat?.isFile()) return r.path;
  }
  return undefined;
}

/**
 * The root's `name` (rpm or rpmdb) on its PATH and what it is: a link into busybox or toybox,
 * an ELF that does not load librpm (a copied multi-call binary) or one whose librpm is not in
 * the root is a stand-in. A script is taken as rpm's own wrapper: there is nothing more to read
 * in it without running it.
 */
export async function findRootRpmProgram(root: string, name = 'rpm'): Promise<RootRpmProgram> {
  for (const dir of ROOT_PATH_DIRS) {
    const r = await walkInRoot(root, `${dir}/${name}`);
    if (!r.stat?.isFile() || (r.stat.mode & 0o111) === 0) continue;
    const target = posix.basename(r.path);
    if (MULTI_CALL.test(target))
      return {
        kind: 'stand-in',
        path: `${dir}/${name}`,
        why: `a link to ${r.path}, whose applet is not rpm`,
      };
    const elf = await readElf(hostPath(root, r.path)).catch(() => undefined);
    if (!elf) return { kind: 'real', path: r.path };
    const librpm = elf.needed.find((n) => n.startsWith('librpm.so'));
    if (!librpm)
      return {
        kind: 'stand-in',
        path: r.path,
        why: 'a program that does not load librpm (a multi-call binary such as busybox)',
      };
    if (!(await findRootLibrary(root, librpm)))
      return { kind: 'stand-in', path: r.path, why: `linked with ${librpm}, which the root does not have` };
    return { kind: 'real', path: r.path };
  }
  return { kind: 'absent' };
}

/** How the log names a root's rpm that is not one. */
export function describeRootRpm(p: RootRpmProgram): string {
  switch (p.kind) {
    case 'real':
      return `rpm ${p.path}`;
    case 'absent':
      return 'no rpm';
    case 'stand-in':
      return `no rpm of its own (${p.path} is ${p.why})`;
  }
}
