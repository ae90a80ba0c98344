#!/bin/bash
# Staging customizations for the debian-12 repo, in the style of VIC's repo hooks: run after the
# bootstrap or appliance packages are installed, with PKGDIR set and rootfs_dir defined.

echo "staging customizations for $(basename "$(dirname "$0")")"

# Everything below ends up in an initrd that lives in RAM: drop what nothing in the image reads.
rm -rf "$(rootfs_dir "$PKGDIR")"/usr/share/{doc,man,info}/*
# Translations and udev's hardware database: no udev runs in the bootstrap, and messages stay in
# English. Together about 50 MB of a RAM-resident root, and seconds of initramfs unpacking.
rm -rf "$(rootfs_dir "$PKGDIR")"/usr/share/locale/* "$(rootfs_dir "$PKGDIR")"/usr/lib/udev/hwdb.bin \
    "$(rootfs_dir "$PKGDIR")"/usr/lib/udev/hwdb.d
