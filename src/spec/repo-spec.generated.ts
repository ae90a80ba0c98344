/* Generated from schemas/repo-spec.schema.json by `npm run gen:types`. Do not edit by hand. */

/**
 * Package names: a space-separated string as VIC writes it, or an array of names.
 */
export type PackageList = string | string[];
/**
 * A command as an argument vector; no shell is involved unless argv[0] is one.
 *
 * @minItems 1
 */
export type Argv = [string, ...string[]];

/**
 * An isobuild repo spec: how to assemble a bootable image from a Linux distribution's packages (after VIC's isos/base/repos/<repo>/repo-spec.json).
 */
export interface RepoSpec {
  /**
   * Ignored; lets editors find this schema.
   */
  $schema?: string;
  /**
   * A base spec this one builds on: a spec file, or a folder holding repo-spec.json / .yaml / .yml, relative to this file's folder. Objects are merged key by key, arrays and other values given here replace the base's (docs/spec.md).
   */
  extends?: string;
  /**
   * The repo's name; equals its folder name, e.g. photon-2.0.
   */
  name: string;
  /**
   * The package manager that installs the root, or oci: the root is an OCI image (`image`) or is built from a Dockerfile (`dockerfile`).
   */
  packagemanager: 'tdnf' | 'yum' | 'dnf' | 'apt' | 'oci';
  /**
   * packagemanager oci: the image whose layers are the root, as transport:reference (oci-archive:base.tar, oci:layout:tag, docker-archive:x.tar, containers-storage:name, docker://registry/name:tag). Relative paths are taken from the repo folder.
   */
  image?: string;
  /**
   * packagemanager oci: a Dockerfile in the repo folder, built with buildah; the build context is the repo folder (a .dockerignore there is honoured).
   */
  dockerfile?: string;
  /**
   * The kernel: a package name or package file (a string), or a kernel built from source (an object; docs/kernel.md).
   */
  kernel: string | KernelBuild;
  /**
   * Absolute path of the init in the image: /bin/init for the slim bootstrap init, /lib/systemd/systemd for appliances.
   */
  init: string;
  /**
   * RPM releasever or apt suite. Default: derived from the repo name (photon-2.0 gives 2.0, debian-12 gives bookworm).
   */
  release?: string;
  /**
   * The architecture the image is built for (Debian's names). arm64 is built on an amd64 host with the package manager's maintainer scripts under qemu-user; it boots under UEFI only (docs/arm64.md). isobuild build --arch overrides it. Default amd64.
   */
  arch?: 'amd64' | 'arm64';
  /**
   * The packages to install: base into every root (iso-base), bootstrap and appliance on top of it for that flavour (staging).
   */
  packages: {
    base: PackageList;
    bootstrap?: PackageList;
    appliance?: PackageList;
  };
  /**
   * A package-manager subcommand run before the flavour's packages are installed, e.g. 'erase toybox'. Split on blanks and passed as arguments, never through a shell.
   */
  packages_script_staging?: {
    /**
     * Run for the bootstrap flavour, e.g. 'erase toybox'. Empty: nothing runs.
     */
    bootstrap?: string;
    /**
     * Run for the appliance flavour, e.g. 'erase toybox' or 'install less'. Empty: nothing runs.
     */
    appliance?: string;
  };
  /**
   * apt only: how the Debian root is bootstrapped.
   */
  apt?: {
    /**
     * mmdebstrap variant for the base root. Default essential.
     */
    variant?: 'essential' | 'minbase' | 'required' | 'important' | 'standard';
    /**
     * Archive components. Default [main].
     */
    components?: string[];
    /**
     * A sources file in the repo folder (one-line .list or deb822 .sources). Default: the repo folder's *.sources / sources.list, else the host's apt configuration.
     */
    sources?: string;
  };
  /**
   * How a kernel package is put into the root. files (default): downloaded through the package manager and only its own files unpacked, then depmod; its dependencies (udev, initramfs-tools...) and maintainer scripts never run. package: installed with its dependencies, for appliances that want the distribution's full kernel install.
   */
  kernel_install?: 'files' | 'package';
  /**
   * The bootstrap (and initrd target) image's root. small (default): only what the init layer, the repo's init.sh and the tether use, with their ELF closure and the drivers' modules (docs/init.md). full: the whole staged root, as VIC ships it. Appliances always get the full root.
   */
  bootstrap_initrd?: 'small' | 'full';
  /**
   * Install documentation: /usr/share/doc (copyright files are always kept), man and info pages. Default false (dpkg path-exclude; rpm tsflags=nodocs).
   */
  docs?: boolean;
  /**
   * Message catalogues kept under /usr/share/locale (e.g. [en, de_DE]); all others are left out. Default [] (none). Ignored when docs is true.
   */
  locales?: string[];
  /**
   * Files of an output's root that no package, repo hook, kernel or isobuild layer accounts for: list (default) names them in the output's manifest (unowned); error also fails the build naming them (docs/supply-chain.md).
   */
  unowned?: 'list' | 'error';
  /**
   * Package lists (apt lists, dnf metadata) younger than this are used without asking the mirrors again, e.g. 6h or 1d. Default 1d; isobuild build --refresh always refreshes.
   */
  package_lists_max_age?: string;
  /**
   * Kernel drivers to load at boot, added to VIC's common list (unless common_drivers is false) and init.sh's drivers array.
   */
  drivers?: string[];
  /**
   * Whether VIC's common driver list (the disk drivers, vmxnet3, vmw_pvscsi and the netfilter modules of VIC's firewall) heads the drivers array: loaded by the bootstrap init, kept by modules: drivers, built in by kernel.builtin. false: the drivers array is init.sh's and the spec's only, for a repo that is no VIC container VM (a microVM, an app).
   */
  common_drivers?: boolean;
  /**
   * Kernel modules in the image: every module of the kernel (VIC's way, the default) or only the drivers' dependency closure.
   */
  modules?: 'all' | 'drivers';
  /**
   * initrd compression. Default auto: the fastest one to boot that the kernel decompresses (its config's CONFIG_RD_*: lz4, then zstd, then gzip, then xz).
   */
  compression?: 'auto' | 'lz4' | 'gzip' | 'zstd' | 'xz';
  /**
   * Firmware the ISO boots under. Default both.
   */
  boot?: {
    /**
     * Boot under BIOS (isolinux, El Torito and isohybrid MBR).
     */
    bios?: boolean;
    /**
     * Boot under UEFI (GRUB x86_64-efi on an EFI system partition).
     */
    uefi?: boolean;
  };
  /**
   * Secure Boot (docs/secure-boot.md). "distribution": the ISO's UEFI path is the distribution's signed chain (Debian: shim-signed, grub-efi-amd64-signed and its signed kernel), fetched through the package manager. {key, cert}: the user's own db key pair, which signs a UKI (target uki); the files must lie outside the repo folder, or name environment variables ($NAME) that hold their paths.
   */
  secure_boot?:
    | 'distribution'
    | {
        /**
         * The private key (PEM), outside the repo folder, or $VAR naming an environment variable that holds its path. Never cached, logged or shipped.
         */
        key: string;
        /**
         * The db certificate (PEM) matching key, outside the repo folder, or $VAR.
         */
        cert: string;
      };
  /**
   * With boot.uefi: the ISO's EFI path (and the appliance-disk ESP's) is a Unified Kernel Image (systemd-stub with the kernel, initrd, command line and os-release; docs/secure-boot.md, docs/disk.md) as EFI/BOOT/BOOTX64.EFI instead of GRUB, signed when secure_boot is {key, cert}. The uki target writes the UKI alone, whatever this says.
   */
  uki?: boolean;
  /**
   * Extra kernel command-line arguments.
   */
  cmdline?: string;
  /**
   * Boot contract. isobuild (default): logs on ttyS0, /boot/vmlinuz and /boot/initrd.img, /.tether/bin/tether. vic: VIC's kernel command line (log on ttyS1), /boot/vmlinuz64 and /boot/core.gz with boot.msg, publisher 'VMware Inc. <version>', /.tether/tether, unpack and tether-debug.
   */
  profile?: 'isobuild' | 'vic';
  /**
   * The image's version, in the ISO's publisher and application ids. Default: $BUILD_NUMBER, else isobuild's version.
   */
  version?: string;
  /**
   * Path, relative to the repo folder, of the tether binary started after switch_root. Default: isobuild's own tether.
   */
  tether?: string;
  /**
   * How the repo's hooks (base.sh, staging.sh) and init.sh's install functions run.
   */
  hooks?: {
    /**
     * Run them in a bubblewrap sandbox: the root being built writable, the repo folder and the host's system folders read-only, no host secrets, no network unless hooks.network is true, a seccomp filter. Default true; false runs them on the host, with a warning.
     */
    sandbox?: boolean;
    /**
     * Give the sandboxed hooks and install functions the host's network (the build's outbound network). Default false: only a loopback of their own.
     */
    network?: boolean;
  };
  app?: App;
  minimise?: Minimise;
  disk?: Disk;
  microvm?: Microvm;
  ova?: Ova;
  /**
   * Boot tests: commands isobuild test (and build --test) runs in the booted output, one boot per target (docs/testing-images.md).
   */
  tests?: BootTest[];
  budget?: Budget;
}
/**
 * A kernel built from source by the kernel stage: bzImage and vmlinux (modules only where the config has =m), cached by the source's digest, the resolved .config's digest and the toolchain's versions.
 */
export interface KernelBuild {
  /**
   * A kernel source package name (linux-source-6.1: fetched through the package manager into the package cache), or a kernel source tarball in the repo folder (.tar.xz, .tar.gz, .tar.bz2, .tar), checked against sha256 when given.
   */
  source: string;
  /**
   * The tarball's SHA-256 (source a file only); a mismatch fails before the build.
   */
  sha256?: string;
  /**
   * A preset (microvm, iso: Kconfig fragments on top of tinyconfig/defconfig, templates/kernel/) or a full kernel .config in the repo folder (a path with a "/" or ending .config).
   */
  config: string;
  /**
   * Kconfig fragments in the repo folder, merged over the config in order (scripts/kconfig/merge_config.sh).
   *
   * @maxItems 64
   */
  fragments?: string[];
  /**
   * drivers: every driver of the drivers array (VIC's common list unless common_drivers is false, init.sh's, the spec's, and a microVM target's root-disk drivers) is built in (=y), with its dependencies; one that cannot be is an error before the build, naming where the driver was asked for.
   */
  builtin?: 'drivers';
}
/**
 * The app appliance (seed 000's /app/prerun, run, postrun): boots straight into one program.
 */
export interface App {
  /**
   * Files copied from the repo folder into the image before it is built.
   */
  files?: {
    /**
     * Path relative to the repo folder.
     */
    src: string;
    /**
     * Absolute path in the image.
     */
    dest: string;
    /**
     * Octal permission bits. Default: the source file's.
     */
    mode?: string;
  }[];
  prerun?: Argv;
  run: Argv;
  postrun?: Argv;
  /**
   * Working directory of prerun, run and postrun (absolute, in the image). Default: /.
   */
  cwd?: string;
  env?: Env;
  /**
   * What the init does after postrun, unless the kernel command line says otherwise (appEnd=).
   */
  end?: 'poweroff' | 'reboot' | 'shell';
}
/**
 * Environment variables: names as a shell takes them, string values.
 */
export interface Env {
  /**
   * The variable's value.
   */
  [k: string]: string;
}
/**
 * Trace the workloads in the staged root and keep only the files they use.
 */
export interface Minimise {
  /**
   * Commands that exercise everything the image must keep; each runs traced in an overlay of the staged root.
   *
   * @minItems 1
   */
  workloads: [
    {
      argv: Argv;
      /**
       * Working directory in the root. Default: /.
       */
      cwd?: string;
      /**
       * Seconds. Default 60.
       */
      timeout?: number;
      /**
       * Expected exit status. Default 0.
       */
      exit?: number;
      /**
       * Text fed to the workload's standard input. Default: none.
       */
      stdin?: string;
    },
    ...{
      argv: Argv;
      /**
       * Working directory in the root. Default: /.
       */
      cwd?: string;
      /**
       * Seconds. Default 60.
       */
      timeout?: number;
      /**
       * Expected exit status. Default 0.
       */
      exit?: number;
      /**
       * Text fed to the workload's standard input. Default: none.
       */
      stdin?: string;
    }[]
  ];
  /**
   * Globs (picomatch syntax: *, **, ?, [abc], {a,b}) of in-root paths kept whether or not a workload used them; checked when the spec is validated.
   */
  keep?: string[];
  /**
   * Globs of folders whose entries are kept (the entries, not their contents): for programs that list a folder and pick what they find.
   */
  list_dirs?: string[];
  /**
   * Globs of in-root paths dropped even when traced or kept (caches, docs).
   */
  exclude?: string[];
  env?: Env;
}
/**
 * The disk image targets (appliance-disk): a GPT disk booting under BIOS and UEFI. See docs/disk.md.
 */
export interface Disk {
  /**
   * The whole disk's size (bytes, or with K, M, G), rounded up to whole MiB; --size (IMG_SIZE) overrides. Default: the root's files plus a quarter and 32 MiB, the ESP and the GPT. A size too small for the root fails the build, naming the size needed.
   */
  size?: string;
  /**
   * What the root partition holds: ext4 (read-write), or squashfs (read-only, compressed) with a writable ext4 overlay partition after it, laid over the root by the disk's initrd, where the guest's writes persist across reboots. disk.size then sizes the overlay partition with the rest of the disk. Default ext4.
   */
  root?: 'ext4' | 'squashfs';
}
/**
 * The microVM targets (firecracker, celestial, image, rootfs-*): the VM's shape and application. See docs/microvm.md.
 */
export interface Microvm {
  /**
   * vm-config.json's vcpu_count. Default 1.
   */
  vcpus?: number;
  /**
   * vm-config.json's mem_size_mib. Default 256.
   */
  memory?: number;
  /**
   * rootfs.ext4's size (bytes, or with K, M, G), as osbuilder's IMG_SIZE; --size overrides. Default: the content plus headroom.
   */
  size?: string;
  app?: Argv;
  /**
   * Kernel arguments added to Firecracker's boot_args.
   */
  cmdline?: string;
}
/**
 * The ova target's OVF descriptor (docs/disk.md#ova). Every field has a default.
 */
export interface Ova {
  /**
   * Virtual CPUs (ResourceType 3). Default 2.
   */
  cpus?: number;
  /**
   * Memory in MiB (ResourceType 4). Default 1024.
   */
  memory?: number;
  /**
   * The firmware vSphere boots the disk with (vmw:Config firmware). Default bios.
   */
  firmware?: 'bios' | 'efi';
  /**
   * The disk's controller: VMware paravirtual SCSI (vmw_pvscsi), LSI Logic SCSI (mptspi) or AHCI SATA. Default pvscsi.
   */
  controller?: 'pvscsi' | 'lsilogic' | 'sata';
  /**
   * The network adapter (ResourceType 10). Default vmxnet3.
   */
  nic?: 'vmxnet3' | 'e1000' | 'e1000e';
  /**
   * The logical network the adapter connects to; the importer maps it to a port group. Default VM Network.
   */
  network?: string;
  /**
   * vSphere's virtual hardware family (vmx-13: ESXi 6.5 and later). Default vmx-13.
   */
  hardware_version?: string;
  /**
   * The guest OS: CIM_OperatingSystem.OsType and vSphere's guest id. Default 101 (Linux 64-bit) and other3xLinux64Guest.
   */
  os?: {
    /**
     * CIM_OperatingSystem.OsType (96: Debian 64-bit, 101: Linux 64-bit).
     */
    cim_id: number;
    /**
     * vSphere's guest id (vmw:osType).
     */
    vmware_os_type: string;
  };
  /**
   * ProductSection's product fields. Default: the repo's name and the spec's version.
   */
  product?: {
    /**
     * Product. Default: the repo's name.
     */
    name?: string;
    /**
     * Version. Default: the spec's version.
     */
    version?: string;
    /**
     * FullVersion.
     */
    full_version?: string;
    /**
     * Vendor.
     */
    vendor?: string;
    /**
     * ProductUrl.
     */
    product_url?: string;
    /**
     * VendorUrl.
     */
    vendor_url?: string;
  };
  /**
   * OVF properties the deploy wizard asks for, delivered to the guest in guestinfo.ovfEnv. Default: the first-boot keys (hostname, ip, gateway, dns, ssh_key).
   */
  properties?: {
    /**
     * ovf:key: the name the guest reads.
     */
    key: string;
    /**
     * ovf:type. Default string.
     */
    type?:
      | 'string'
      | 'boolean'
      | 'uint8'
      | 'uint16'
      | 'uint32'
      | 'uint64'
      | 'sint8'
      | 'sint16'
      | 'sint32'
      | 'sint64'
      | 'real32'
      | 'real64';
    /**
     * ovf:value: the value the wizard starts with.
     */
    default?: string;
    /**
     * The wizard's label.
     */
    label?: string;
    /**
     * The wizard's help text.
     */
    description?: string;
    /**
     * Masked in the wizard (ovf:password).
     */
    password?: boolean;
  }[];
}
/**
 * A command run in the booted image by isobuild test (docs/testing-images.md): it passes when its exit status is `exit` and, when `expect` is given, its output matches `expect`.
 */
export interface BootTest {
  /**
   * The test's name, as pass/fail lines and the JUnit file show it; unique in the spec.
   */
  name: string;
  /**
   * A POSIX sh command line, run by the tether in the container (the bootstrap's busybox root: /proc, /sys and /dev are the booted system's) with its stdout and stderr captured.
   */
  run: string;
  /**
   * A JavaScript regular expression (multiline) the command's output must match. Default: any output.
   */
  expect?: string;
  /**
   * The exit status the command must end with. Default 0.
   */
  exit?: number;
  /**
   * The target whose output the test boots: every test of one target runs in one boot of it. Default bootstrap. Targets without a bootable output (iso-base, *-staging, rootfs, rootfs-tar, kernel) are refused by the tests-bootable rule.
   */
  target?:
    | 'iso-base'
    | 'bootstrap-staging'
    | 'appliance-staging'
    | 'bootstrap'
    | 'appliance'
    | 'initrd'
    | 'app'
    | 'rootfs'
    | 'rootfs-tar'
    | 'rootfs-ext4'
    | 'rootfs-squashfs'
    | 'kernel'
    | 'image'
    | 'firecracker'
    | 'celestial'
    | 'appliance-disk';
  /**
   * How long the command may run (s or m); it is killed after that and the test fails. Default 60s.
   */
  timeout?: string;
}
/**
 * Limits the build and isobuild test enforce (docs/testing-images.md): a size over its budget fails the build right after the stage that makes it, naming the 10 biggest packages; a boot slower than `boot` fails isobuild test.
 */
export interface Budget {
  /**
   * The initrd file (compressed, as it goes on the ISO), checked after the initrd stage. Bytes, or with K, M, G (KiB, MiB, GiB).
   */
  initrd?: string;
  /**
   * The ISO file, checked after the iso stage.
   */
  iso?: string;
  /**
   * The staged root's files (the packages and staging.sh, before the initrd is made from it), checked after the staging stage.
   */
  rootfs?: string;
  /**
   * From the first console line to the tether starting the tests, under isobuild test's qemu (TCG unless --accel kvm).
   */
  boot?: string;
}
