#!/bin/bash
# Repo hooks for the bootstrap init (see docs/spec.md and repos/debian-12/init.sh).
#
# The init sources this file, loads the drivers below (after isobuild's common list) and calls
# install-iptables and install-entropy with the tether folder as their only argument.

# Kernel modules to load: Debian's cloud kernel builds the virtio and ATA disk drivers as modules.
drivers=(
    "virtio_pci"
    "virtio_blk"
    "virtio_scsi"
    "ata_piix"
    "sd_mod"
    "ext4"
)

# Usage: install-entropy DEST: copy an entropy daemon into the tether folder DEST and write its
# command line to DEST/opt/config/entropy.txt (repos/debian-12/init.sh copies haveged).
install-entropy () {
    :
}

# Usage: install-iptables DEST: copy iptables into the tether folder DEST (see repos/debian-12).
install-iptables () {
    :
}
