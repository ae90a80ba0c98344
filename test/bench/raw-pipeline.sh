#!/bin/sh
# The raw pipeline by hand, the bench's baseline: what a person would type without isobuild.
# mmdebstrap (essential + merged-usr hook, the packages and the kernel with apt's dependency
# tail) -> the whole root as a sorted newc cpio | zstd -3 -> xorriso isolinux ISO. Nothing is
# cached: every package is downloaded on every run, as a script like this would.
#
#   raw-pipeline.sh OUT_DIR RELEASE KERNEL PACKAGE...
#
# OUT_DIR gets raw.iso and initrd-bytes (the root's uncompressed cpio size). The root's /init
# prints RAW-BENCH-READY on the serial console and powers off: booting the ISO to that line is
# "boot to a command". Sources: the host's apt configuration (mirror arguments are its files).
set -eu
out=$1
release=$2
kernel=$3
shift 3
work=$(mktemp -d "${TMPDIR:-/tmp}/raw-pipeline.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
root=$work/root
iso=$work/iso

sources=
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -s "$f" ] && sources="$sources $f"
done

# shellcheck disable=SC2086 # one argument per sources file
mmdebstrap --quiet --mode=root --variant=essential \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --include="$(echo "$kernel" "$@" | tr ' ' ',')" \
  "$release" "$root" $sources

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo RAW-BENCH-READY
/bin/busybox poweroff -f
EOF
chmod 755 "$root/init"

mkdir -p "$iso/isolinux"
cp "$(ls "$root"/boot/vmlinuz-* | head -n 1)" "$iso/vmlinuz"
(cd "$root" && find . -path ./boot -prune -o -print | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible) >"$work/initrd.cpio"
stat -c %s "$work/initrd.cpio" >"$out/initrd-bytes"
zstd -q -3 -T1 "$work/initrd.cpio" -o "$iso/initrd.zst"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
cat >"$iso/isolinux/isolinux.cfg" <<'EOF'
default raw
prompt 0
timeout 0
label raw
  kernel /vmlinuz
  append initrd=/initrd.zst console=ttyS0 rdinit=/init quiet
EOF
xorriso -as mkisofs -quiet -o "$out/raw.iso" -R -J -V RAW \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin "$iso"
