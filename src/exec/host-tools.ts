import { access, constants, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ToolMissingError, type MissingTool } from '../errors.js';

/**
 * Every host tool isobuild may run, with the Debian package that provides it.
 * `make deps` installs the packages named here; `isobuild doctor` checks them.
 */
export const HOST_TOOLS = {
  mmdebstrap: 'mmdebstrap',
  'arch-test': 'arch-test',
  debootstrap: 'debootstrap',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  chroot: 'coreutils',
  dpkg: 'dpkg',
  'dpkg-deb': 'dpkg',
  rpm: 'rpm',
  rpm2cpio: 'rpm2cpio',
  rpmbuild: 'rpm',
  dnf: 'dnf',
  yum: 'yum',
  tdnf: 'tdnf',
  createrepo_c: 'createrepo-c',
  depmod: 'kmod',
  modinfo: 'kmod',
  cpio: 'cpio',
  gzip: 'gzip',
  zstd: 'zstd',
  lz4: 'lz4',
  xz: 'xz-utils',
  bzip2: 'bzip2',
  xorriso: 'xorriso',
  mformat: 'mtools',
  mcopy: 'mtools',
  'mkfs.vfat': 'dosfstools',
  syslinux: 'syslinux',
  sfdisk: 'fdisk',
  'qemu-img': 'qemu-utils',
  dd: 'coreutils',
  'grub-mkstandalone': 'grub-common',
  'grub-mkimage': 'grub-common',
  'mkfs.ext4': 'e2fsprogs',
  mksquashfs: 'squashfs-tools',
  debugfs: 'e2fsprogs',
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-system-aarch64': 'qemu-system-arm',
  strace: 'strace',
  readelf: 'binutils',
  bash: 'bash',
  unshare: 'util-linux',
  mount: 'mount',
  umount: 'mount',
  tar: 'tar',
  busybox: 'busybox-static',
  bwrap: 'bubblewrap',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  timeout: 'coreutils',
  skopeo: 'skopeo',
  umoci: 'umoci',
  buildah: 'buildah',
  make: 'make',
  gcc: 'gcc',
  ld: 'binutils',
  flex: 'flex',
  bison: 'bison',
  bc: 'bc',
  perl: 'perl',
  ccache: 'ccache',
  sbsign: 'sbsigntool',
  osslsigncode: 'osslsigncode',
  sbverify: 'sbsigntool',
  openssl: 'openssl',
  gpgv: 'gpgv',
  objcopy: 'binutils',
  objdump: 'binutils',
} as const satisfies Record<string, string>;

export type HostTool = keyof typeof HOST_TOOLS;

/** Host files (not commands) that some stages read, with their packages. */
export const HOST_FILES = {
  '/usr/lib/ISOLINUX/isolinux.bin': 'isolinux',
  '/usr/lib/syslinux/modules/bios/ldlinux.c32': 'syslinux-common',
  '/usr/lib/ISOLINUX/isohdpfx.bin': 'isolinux',
  '/usr/lib/syslinux/mbr/gptmbr.bin': 'syslinux-common',
  '/usr/lib/grub/x86_64-efi/moddep.lst': 'grub-efi-amd64-bin',
  '/usr/share/OVMF/OVMF_CODE.fd': 'ovmf',
  // A registered, enabled handler (present() reads it): `make deps` registers it.
  '/proc/sys/fs/binfmt_misc/qemu-aarch64': 'qemu-user-static',
  '/usr/share/AAVMF/AAVMF_CODE.fd': 'qemu-efi-aarch64',
  '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd': 'ovmf',
  '/usr/share/OVMF/OVMF_VARS_4M.ms.fd': 'ovmf',
  '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd': 'ovmf',
  '/usr/lib/systemd/boot/efi/linuxx64.efi.stub': 'systemd-boot-efi',
  '/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh': 'mmdebstrap',
  '/bin/busybox': 'busybox-static',
  '/usr/include/gelf.h': 'libelf-dev',
  '/usr/include/openssl/opensslv.h': 'libssl-dev',
} as const satisfies Record<string, string>;

export type HostFile = keyof typeof HOST_FILES;

/**
 * The host's static busybox (busybox-static): the tether and the app init run under it when
 * the root has no static one, so they need no libraries from the (maybe minimised) root.
 */
export const HOST_BUSYBOX: HostFile = '/bin/busybox';

export interface ToolNeed {
  tool: HostTool | HostFile;
  reason: string;
}

/**
 * A command (or host file) a stage or adapter uses, declared once: the preflight checks it,
 * the stage's key holds its version (and a host file's content), `isobuild plan` lists it, and
 * the stage's ctx.run refuses any command not declared (src/stage/commands.ts).
 */
export interface DeclaredTool extends ToolNeed {
  /**
   * The arguments that make it print its version (`--version`, `-V`...): its first line goes
   * into the key. 'none' when its version does not decide what the stage writes (mount, bwrap).
   */
  readonly version: readonly string[] | 'none';
}

export async function findOnPath(
  tool: string,
  pathEnv = process.env.PATH ?? '',
): Promise<string | undefined> {
  const dirs = [...pathEnv.split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, tool);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

/** binfmt_misc's handlers: one file each, whose first line says whether it is enabled. */
export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

async function present(tool: string): Promise<boolean> {
  // A handler can be registered and disabled (update-binfmts --disable): that runs nothing.
  if (tool.startsWith(`${BINFMT_DIR}/`))
    return (await readFile(tool, 'utf8').catch(() => '')).split('\n')[0] === 'enabled';
  if (tool.startsWith('/')) {
    try {
      await access(tool, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }
  return (await findOnPath(tool)) !== undefined;
}

export function packageFor(tool: HostTool | HostFile): string {
  return (HOST_TOOLS as Record<string, string>)[tool] ?? (HOST_FILES as Record<string, string>)[tool] ?? tool;
}

export interface ToolStatus extends MissingTool {
  present: boolean;
}

/** Every tool the needs name, once (reasons joined), sorted, with whether the host has it. */
export async function surveyTools(needs: readonly ToolNeed[]): Promise<ToolStatus[]> {
  const byTool = new Map<string, string[]>();
  for (const n of needs) byTool.set(n.tool, [...(byTool.get(n.tool) ?? []), n.reason]);
  const statuses: ToolStatus[] = [];
  for (const [tool, reasons] of [...byTool].sort(([a], [b]) => a.localeCompare(b)))
    statuses.push({
      tool,
      reason: [...new Set(reasons)].join('; '),
      debianPackage: packageFor(tool as HostTool),
      present: await present(tool),
    });
  return statuses;
}

/** Every need that is not met, merged by tool (reasons joined). */
export async function findMissingTools(needs: readonly ToolNeed[]): Promise<MissingTool[]> {
  return (await surveyTools(needs))
    .filter((s) => !s.present)
    .map(({ tool, reason, debianPackage }) => ({ tool, reason, debianPackage }));
}

export async function checkTools(needs: readonly ToolNeed[]): Promise<void> {
  const missing = await findMissingTools(needs);
  if (missing.length) throw new ToolMissingError(missing);
}
