# isobuild: VIC's make targets over the isobuild CLI.
# Setup and main job: make deps && make bootstrap.  Tests: make test.

DEFAULT_REPO ?= debian-12
REPO ?= $(DEFAULT_REPO)
BIN ?= bin
ISOBUILD := node dist/cli/main.js

# Debian packages of every host tool isobuild runs (see src/exec/host-tools.ts; `isobuild doctor`).
DEB_PACKAGES := mmdebstrap debootstrap xorriso isolinux syslinux-common grub-efi-amd64-bin \
	grub-pc-bin grub-common mtools dosfstools qemu-system-x86 ovmf cpio zstd lz4 xz-utils gzip \
	rpm rpm2cpio dnf createrepo-c e2fsprogs strace busybox-static binutils kmod dpkg-dev file \
	ca-certificates gnupg gpgv bubblewrap skopeo umoci buildah squashfs-tools tar openssl docker-registry \
	reprotest disorderfs attr openssh-client bzip2 syslinux fdisk qemu-utils libxml2-utils \
	build-essential bc bison flex libelf-dev libssl-dev ccache sbsigntool systemd-boot-efi osslsigncode \
	chromium qemu-user-static binfmt-support arch-test qemu-system-arm qemu-efi-aarch64 gcc-aarch64-linux-gnu

SOURCES := $(shell find src -name '*.ts' 2>/dev/null) package.json tsconfig.json src/tsconfig.json

.PHONY: deps binfmt build test check typecheck lint bench reprotest bootstrap bootstrap-custom appliance isos \
	iso-base iso-base-custom bootstrap-staging bootstrap-staging-custom appliance-staging \
	initrd uki app clean rootfs rootfs-tar rootfs-ext4 rootfs-squashfs image kernel firecracker celestial \
	check-deps appliance-disk disk qcow2 vmdk vhdx vhd ova

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PACKAGES)
	$(MAKE) binfmt
	npm ci

# arm64 builds run the root's maintainer scripts under qemu-user: the qemu-aarch64 handler must be
# registered with binfmt_misc (flag F: the interpreter is opened now, so it works inside chroots).
# A container may lack the binfmt_misc mount: it is mounted here, which needs a privileged host.
binfmt:
	@if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then \
		echo "binfmt: mounting binfmt_misc on /proc/sys/fs/binfmt_misc"; \
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; \
	fi
	@if [ "$$(head -n1 /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null)" != enabled ]; then \
		echo "binfmt: registering qemu-aarch64 (update-binfmts --enable qemu-aarch64)"; \
		update-binfmts --enable qemu-aarch64; \
	fi
	@echo "binfmt: qemu-aarch64 $$(head -n1 /proc/sys/fs/binfmt_misc/qemu-aarch64)"

dist/cli/main.js: $(SOURCES)
	npm run build

build: dist/cli/main.js

test: build
	npm test

typecheck:
	npm run typecheck

lint:
	npm run lint

check: typecheck lint test

bench: build
	npm run bench

# Debian's reprotest on REPO's bootstrap: two cold builds, all but four variations (docs/reproducibility.md).
reprotest: build
	test/repro/reprotest.sh $(REPO) bootstrap

# --- images (VIC's targets) ---
bootstrap: build
	$(ISOBUILD) build $(DEFAULT_REPO) --target bootstrap --output $(BIN)/bootstrap.iso

bootstrap-custom: build
	$(ISOBUILD) build $(REPO) --target bootstrap --output $(BIN)/bootstrap-$(REPO).iso

appliance: build
	$(ISOBUILD) build $(REPO) --target appliance --output $(BIN)/appliance.iso

isos: bootstrap appliance

iso-base: build
	$(ISOBUILD) build $(DEFAULT_REPO) --target iso-base

iso-base-custom: build
	$(ISOBUILD) build $(REPO) --target iso-base

bootstrap-staging: build
	$(ISOBUILD) build $(DEFAULT_REPO) --target bootstrap-staging

bootstrap-staging-custom: build
	$(ISOBUILD) build $(REPO) --target bootstrap-staging

appliance-staging: build
	$(ISOBUILD) build $(REPO) --target appliance-staging

initrd: build
	$(ISOBUILD) build $(REPO) --target initrd $(OSBUILDER_FLAGS)

uki: build
	$(ISOBUILD) build $(REPO) --target uki

app: build
	$(ISOBUILD) build $(REPO) --target app

# --- Clear Containers osbuilder's targets (docs/microvm.md): REPO=x, IMG_SIZE=256M, EXTRA_PKGS="a b" ---
OSBUILDER_FLAGS = $(if $(IMG_SIZE),--size $(IMG_SIZE)) $(if $(strip $(EXTRA_PKGS)),--extra-packages "$(strip $(EXTRA_PKGS))")

rootfs: build
	$(ISOBUILD) build $(REPO) --target rootfs $(OSBUILDER_FLAGS)

rootfs-tar: build
	$(ISOBUILD) build $(REPO) --target rootfs-tar $(OSBUILDER_FLAGS)

rootfs-ext4: build
	$(ISOBUILD) build $(REPO) --target rootfs-ext4 $(OSBUILDER_FLAGS)

rootfs-squashfs: build
	$(ISOBUILD) build $(REPO) --target rootfs-squashfs $(OSBUILDER_FLAGS)

image: build
	$(ISOBUILD) build $(REPO) --target image $(OSBUILDER_FLAGS)

kernel: build
	$(ISOBUILD) build $(REPO) --target kernel $(OSBUILDER_FLAGS)

# Celestial / Firecracker: vmlinux + rootfs.ext4 (or rootfs.squashfs under a tmpfs overlay) + vm-config.json.
firecracker: build
	$(ISOBUILD) build $(REPO) --target firecracker $(OSBUILDER_FLAGS)

celestial: build
	$(ISOBUILD) build $(REPO) --target celestial $(OSBUILDER_FLAGS)

# --- Disk images (docs/disk.md): the appliance on a GPT disk booting BIOS and UEFI; REPO=x, IMG_SIZE=2G ---
DISK_FLAGS = $(if $(IMG_SIZE),--size $(IMG_SIZE)) $(if $(strip $(EXTRA_PKGS)),--extra-packages "$(strip $(EXTRA_PKGS))")

appliance-disk: build
	$(ISOBUILD) build $(REPO) --target appliance-disk $(if $(FORMAT),--format $(FORMAT)) $(DISK_FLAGS)

disk:
	$(MAKE) appliance-disk FORMAT=raw

qcow2:
	$(MAKE) appliance-disk FORMAT=qcow2

vmdk:
	$(MAKE) appliance-disk FORMAT=vmdk

vhdx:
	$(MAKE) appliance-disk FORMAT=vhdx

vhd:
	$(MAKE) appliance-disk FORMAT=vpc

# The appliance disk as an OVA for vSphere: OVF descriptor, manifest, streamOptimized VMDK (docs/disk.md#ova).
ova:
	$(MAKE) appliance-disk FORMAT=ova

# osbuilder's check-deps: every host tool a build may run, with its Debian package.
check-deps: build
	$(ISOBUILD) doctor

clean:
	rm -rf $(BIN) dist
	[ ! -d .isobuild ] || $(ISOBUILD) clean || rm -rf .isobuild
