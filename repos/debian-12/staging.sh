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

# The appliance takes its address by DHCP (qemu's user network: `isobuild qemu --ssh` reaches its
# sshd through a forwarded port): systemd-networkd, part of Debian's systemd, enabled by a link
# made here (systemctl does not run in the root). The bootstrap has no systemd: nothing to do.
root="$(rootfs_dir "$PKGDIR")"
if [ -e "$root/lib/systemd/systemd-networkd" ]; then
    mkdir -p "$root/etc/systemd/network" "$root/etc/systemd/system/multi-user.target.wants"
    printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' >"$root/etc/systemd/network/80-isobuild-dhcp.network"
    ln -sf /lib/systemd/system/systemd-networkd.service \
        "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
fi
