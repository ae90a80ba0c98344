/**
 * Where the init layer puts things: in the root at build time, and in the tether tmpfs at boot.
 * templates/ receive these values, so the init and the build never disagree.
 */

/** The repo's init.sh, sourced by the bootstrap init (VIC kept it as /bin/repoinit). */
export const INIT_SCRIPT_PATH = '/etc/isobuild/init.sh';

/** Files copied as they are into /.tether at boot (bin/busybox, bin/tether). */
export const TETHER_SOURCE_DIR = '/usr/lib/isobuild/tether';

/** Where the container filesystem is mounted before switch_root. */
export const CONTAINER_MOUNT = '/mnt/containerfs';

/** The tether tmpfs, as the container sees it. */
export const TETHER_DIR = '/.tether';

/** What the init execs after switch_root. */
export const TETHER_BIN = '/.tether/bin/tether';

/** The label of the container disk `isobuild run` makes. */
export const CONTAINER_LABEL = 'containerfs';
