/**
 * Where the microVM init layer puts things in the root, and the kernel arguments that reach it.
 * templates/microvm/ receive these values, so the init and the build never disagree.
 */

/** The init; it runs on the init layer's static busybox (INIT_BUSYBOX), whatever the root's userland. */
export const MICROVM_INIT = '/usr/lib/isobuild/microvm/init';

/** Celestial's contract: the application the VM runs at boot, with /bin/sh. */
export const APP_SCRIPT = '/app.sh';

/** The tmpfs holding a read-only root's overlay (upper, work, merged root), and where the old root goes. */
export const OVERLAY_DIR = '/overlay';
export const ROM_DIR = '/rom';

/** The root disk as virtio-mmio's first block device shows it (Firecracker and qemu -M microvm). */
export const ROOT_DEVICE = '/dev/vda';

/**
 * Firecracker's recommended arguments: the serial console, a reboot through the keyboard
 * controller (which ends the VM), a reboot one second after a panic, no PCI probing.
 */
export const FIRECRACKER_BOOT_ARGS = ['console=ttyS0', 'reboot=k', 'panic=1', 'pci=off'];

/** Carries `isobuild run`'s command to the init, base64-encoded (the kernel line has no quoting). */
export const RUN_PARAM = 'isobuild.run';
