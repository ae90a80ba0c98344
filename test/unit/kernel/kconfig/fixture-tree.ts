import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * A small kernel source tree with the Kconfig and kbuild shapes the real one has: `source` with
 * $(SRCARCH), a menu with `depends on`, an `if` block, help text holding Kconfig words, a
 * comment with its own `depends on`, select, `!X`, `||`, an arch-only dependency, composite and
 * several-per-line modules, a gated folder's `obj-y`.
 */
export const FIXTURE: Record<string, string> = {
  Kconfig: `
mainmenu "Fixture $(SRCARCH)"

config X86_64
	def_bool y

config 64BIT
	bool "64-bit kernel" if "$(ARCH)" = "x86"
	default "$(ARCH)" != "i386"

config NET
	bool "Networking"

config PCI
	bool "PCI support"

source "arch/$(SRCARCH)/Kconfig"
source "drivers/Kconfig"
`,
  'arch/x86/Kconfig': `
config X86
	def_bool y
	select ARCH_HELPER

config ARCH_HELPER
	bool
`,
  'drivers/Kconfig': `
menu "Network drivers"
	depends on NET

rsource "net/Kconfig"

endmenu

if PCI

config FOO_PCI
	tristate "Foo on PCI"
	help
	  Help text is not Kconfig: config WORDS
	  depends on ARM

	  endif endmenu
endif

config ARM_THING
	tristate "Only on ARM"
	depends on ARM && NET

config HELPER
	tristate

config USER
	tristate "Uses the helper"
	select HELPER

config BAR
	bool "Bar"

config NEEDS_NO_BAR
	tristate "Needs bar off"
	depends on !BAR

config EITHER
	tristate "Either bus"
	depends on (PCI || NET) && BAR=n

config ONLY_MODULE
	tristate "Module only"
	depends on m

config WIDE
	tristate "Needs 64-bit"
	depends on 64BIT

config ARCHY
	tristate "Needs what the architecture selects"
	depends on ARCH_HELPER

choice
	prompt "Flavour"
	depends on NET

config FLAVOUR_A
	bool "A"

config FLAVOUR_B
	bool "B"

endchoice

config FLAVOURED
	tristate "Needs flavour B"
	depends on FLAVOUR_B
`,
  'drivers/net/Kconfig': `
config NETDEV
	tristate "A network device"
	depends on X86_64

comment "PCI network devices"
	depends on PCI
`,
  Kbuild: `
obj-y += drivers/
obj-$(CONFIG_NET) += net/
`,
  Makefile: `
# The top Makefile drives the build; it is no kbuild file.
obj-$(CONFIG_PCI) += never.o
`,
  'drivers/Makefile': `
obj-$(CONFIG_FOO_PCI)	+= foo_pci.o
obj-$(CONFIG_ARM_THING)	+= arm-thing.o
obj-$(CONFIG_HELPER)	+= helper.o
obj-$(CONFIG_USER)	+= user.o \\
			   other-user.o
obj-y			+= always.o
obj-$(CONFIG_BAR)	+= bar.o
obj-$(CONFIG_NEEDS_NO_BAR) += nobar.o
obj-$(CONFIG_EITHER)	+= either.o
obj-$(CONFIG_ONLY_MODULE) += onlymod.o
obj-$(CONFIG_NET)	+= net/
obj-$(CONFIG_WIDE)	+= wide.o
obj-$(CONFIG_ARCHY)	+= archy.o
obj-$(CONFIG_FLAVOURED)	+= flavoured.o
`,
  'drivers/net/Makefile': `
obj-$(CONFIG_NETDEV)	+= netdev.o
netdev-y		:= core.o \\
			   ring.o
obj-y			+= netglue.o
`,
  'net/Makefile': `
obj-y += socket.o
`,
};

export async function writeFixtureTree(root: string, files: Record<string, string> = FIXTURE): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}
