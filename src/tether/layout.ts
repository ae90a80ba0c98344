/**
 * Where the init layer puts things: in the root at build time, and in the tether tmpfs at boot.
 * templates/ receive these values, so the init and the build never disagree.
 */

/** The repo's init.sh, whose install functions the bootstrap init runs (VIC kept it as /bin/repoinit). */
export const INIT_SCRIPT_PATH = '/etc/isobuild/init.sh';

/** The init layer's own userland: a static busybox and its applet links (docs/init.md). */
export const INIT_LAYER_DIR = '/usr/lib/isobuild/init';
export const INIT_BIN_DIR = `${INIT_LAYER_DIR}/bin`;
export const INIT_BUSYBOX = `${INIT_BIN_DIR}/busybox`;

/** Files copied as they are into /.tether at boot (bin/tether). */
export const TETHER_SOURCE_DIR = '/usr/lib/isobuild/tether';

/**
 * What the repo's install functions put into the tether folder, from their build-time run in the
 * same root: the init copies it into the tmpfs at boot instead of running them again (each
 * process start costs a lot under emulation).
 */
export const TETHER_INSTALLS_DIR = '/usr/lib/isobuild/tether-installs';

/** Where the container filesystem is mounted before switch_root. */
export const CONTAINER_MOUNT = '/mnt/containerfs';

/** The tether tmpfs, as the container sees it. */
export const TETHER_DIR = '/.tether';

/** The init layer's busybox, copied into the tether tmpfs at boot (relative to it). */
export const TETHER_BUSYBOX = 'bin/busybox';

/** The label of the container disk `isobuild run` makes. */
export const CONTAINER_LABEL = 'containerfs';

/**
 * The tether tmpfs as VIC's bootstrap laid it out before the repo's install functions ran:
 * VIC's photon-2.0 install-iptables copies into usr/lib/iptables and lib/ without making them.
 */
export const TETHER_PRECREATED_DIRS = ['lib64', 'usr/lib/iptables', 'run'] as const;
export const TETHER_PRECREATED_LINKS: readonly (readonly [string, string])[] = [['lib', 'lib64']];

/** The shell command laying that out under "$<variable>", for the init and the build-time run alike. */
export function precreateTetherCommand(variable: string): string {
  const dirs = TETHER_PRECREATED_DIRS.map((d) => `"$${variable}/${d}"`).join(' ');
  // Idempotent: the build runs it before each install function.
  const links = TETHER_PRECREATED_LINKS.map(
    ([l, t]) => `{ [ -L "$${variable}/${l}" ] || ln -s ${t} "$${variable}/${l}"; }`,
  );
  return [`mkdir -p ${dirs}`, ...links].join(' && ');
}
