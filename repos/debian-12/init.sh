#!/bin/bash
# Repo hooks for the bootstrap init (isobuild's port of VIC's isos/base/repos/<repo>/init.sh),
# written for Debian 12's layout (merged /usr, multiarch library folders).
#
# The init sources this file, loads the drivers below (after isobuild's common list) and calls
# install-iptables and install-entropy with the tether folder (/.tether inside the mounted
# container filesystem) as their only argument. isobuild also runs both functions at build
# time, in a chroot of the root, to size the tether tmpfs and to fail the build early when a
# file they copy is missing.

# Kernel modules to load. Debian's cloud kernel builds the virtio and ATA disk drivers as
# modules, so the init must load them before it can find the containerfs disk.
drivers=(
    "virtio_pci"
    "virtio_blk"
    "virtio_scsi"
    "ata_piix"
    "sd_mod"
    "ext4"
    "nf_nat"
    "xt_REDIRECT"
    "nf_reject_ipv4"
    "iptable_nat"
    "xt_state"
    "xt_tcpudp"
    "nfsv3"
    "lockd"
)

# The dynamic loader every copied program runs under, and the folder of the root's libraries:
# the root's own architecture's (amd64 or arm64: docs/arm64.md).
ISOBUILD_RTLD=/lib64/ld-linux-x86-64.so.2
ISOBUILD_LIBDIR=/usr/lib/x86_64-linux-gnu
if [ ! -e "$ISOBUILD_RTLD" ] && [ -e /lib/ld-linux-aarch64.so.1 ]; then
    ISOBUILD_RTLD=/lib/ld-linux-aarch64.so.1
    ISOBUILD_LIBDIR=/usr/lib/aarch64-linux-gnu
fi

# Usage: copy-libraries DEST PROGRAM [OBJECT...]
# Copies the shared libraries PROGRAM and the OBJECTs (plugins it dlopens) need, as the loader
# resolves them, into DEST/lib64.
copy-libraries () {
    local dest=$1 prog=$2 preload list line lib
    shift 2
    mkdir -p "$dest/lib64"
    cp -Ln "$ISOBUILD_RTLD" "$dest/lib64/"
    # `ld.so --list` is what ldd runs, so no ldd is needed in the root; preloading the plugins
    # lists their libraries in the same run (one loader run instead of one per plugin: that is
    # minutes under emulation).
    preload=$(IFS=:; echo "$*")
    if [ -n "$preload" ]; then
        list=$("$ISOBUILD_RTLD" --preload "$preload" --list "$prog") || return 1
    else
        list=$("$ISOBUILD_RTLD" --list "$prog") || return 1
    fi
    while read -r line; do
        case "$line" in
            *" => "/*) lib=${line#* => }; lib=${lib%% (*} ;;
            *) continue ;;
        esac
        cp -Ln "$lib" "$dest/lib64/" || return 1
    done <<< "$list"
}

# Usage: copies the entropy daemon to the target system and records how to start it in
# DEST/opt/config/entropy.txt (VIC's contract: the tether runs that command line).
#
# arg1: root of destination filesystem (the tether folder)
install-entropy () {
    local dest=$1
    mkdir -p "$dest/opt/config" "$dest/bin" "$dest/lib64"
    cp -L /usr/sbin/haveged "$dest/bin/haveged"
    copy-libraries "$dest" /usr/sbin/haveged
    cat > "$dest/opt/config/entropy.txt" <<ENTROPY
/.tether/lib64/${ISOBUILD_RTLD##*/} --library-path /.tether/lib64 /.tether/bin/haveged -w 1024 -v 1 -F
ENTROPY
}

# Usage: copies iptables (the legacy xtables back end, which the iptable_* modules serve) and
# its extensions to the target system, with DEST/bin/iptables-wrapper to run it through the
# tether's own loader and libraries, whatever libc the container has.
#
# arg1: root of destination filesystem (the tether folder)
install-iptables () {
    local dest=$1
    mkdir -p "$dest/bin" "$dest/lib64/xtables" "$dest/run"
    cp -L /usr/sbin/xtables-legacy-multi "$dest/bin/xtables-legacy-multi"
    cp -L "$ISOBUILD_LIBDIR"/xtables/*.so "$dest/lib64/xtables/"
    copy-libraries "$dest" /usr/sbin/xtables-legacy-multi "$ISOBUILD_LIBDIR"/xtables/*.so

    cat > "$dest/bin/iptables-wrapper" <<IPTABLES
#!/.tether/bin/busybox sh
export XTABLES_LIBDIR=/.tether/lib64/xtables XTABLES_LOCKFILE=/.tether/run/xtables.lock
exec /.tether/lib64/${ISOBUILD_RTLD##*/} --library-path /.tether/lib64 \\
    /.tether/bin/xtables-legacy-multi iptables "\$@"
IPTABLES
    chmod 0755 "$dest/bin/iptables-wrapper"
}
