import type { Command } from 'commander';

/** A file of src/cli/ and the commands it registers on the root program. */
export interface CommandModule {
  /** The commands it registers (test/unit/cli/commands.test.ts checks them against the module). */
  readonly names: readonly string[];
  /** Its commands have subcommands: alone on the line, they show their help. */
  readonly group?: true;
  /** Its commands never load a repo spec, so the package managers need not be loaded either. */
  readonly specFree?: true;
  /** It reads the other commands (completion): every command is registered beside it. */
  readonly readsCommands?: true;
  readonly load: () => Promise<(program: Command) => void>;
}

/**
 * One file per command; each registers itself on the root program. A new command is one file in
 * src/cli/ and one entry here: help, usage errors ("did you mean"), `help WORD` and shell
 * completion all read the registered commands. Its --json output follows docs/json.md.
 *
 * A command line loads only the code of its own command's group (vm-commands.ts: the commands that
 * boot an image; repo-commands.ts: the rest): Node 20 has no compile cache, and compiling the
 * build's code cost `isobuild run` ~0.15 s before the VM started. Two groups, not one chunk per
 * command: each chunk is a module to resolve and load. Help, completion and a word that is no
 * command load both.
 */
export const COMMANDS: readonly CommandModule[] = [
  { names: ['list'], load: async () => (await import('./repo-commands.js')).registerList },
  { names: ['validate'], load: async () => (await import('./repo-commands.js')).registerValidate },
  { names: ['new'], load: async () => (await import('./repo-commands.js')).registerNew },
  { names: ['plan'], load: async () => (await import('./repo-commands.js')).registerPlan },
  { names: ['summary'], load: async () => (await import('./repo-commands.js')).registerSummary },
  { names: ['build'], load: async () => (await import('./repo-commands.js')).registerBuild },
  { names: ['bundle'], load: async () => (await import('./repo-commands.js')).registerBundle },
  { names: ['export'], load: async () => (await import('./repo-commands.js')).registerExport },
  { names: ['shell'], load: async () => (await import('./repo-commands.js')).registerShell },
  { names: ['lock'], load: async () => (await import('./repo-commands.js')).registerLock },
  { names: ['diff'], load: async () => (await import('./repo-commands.js')).registerDiff },
  { names: ['report'], load: async () => (await import('./repo-commands.js')).registerReport },
  { names: ['why'], load: async () => (await import('./repo-commands.js')).registerWhy },
  { names: ['verify'], load: async () => (await import('./repo-commands.js')).registerVerify },
  { names: ['clean'], load: async () => (await import('./repo-commands.js')).registerClean },
  { names: ['cache'], group: true, load: async () => (await import('./repo-commands.js')).registerCache },
  { names: ['doctor'], load: async () => (await import('./repo-commands.js')).registerDoctor },
  { names: ['boot'], specFree: true, load: async () => (await import('./vm-commands.js')).registerBoot },
  { names: ['run'], specFree: true, load: async () => (await import('./vm-commands.js')).registerRun },
  { names: ['test'], load: async () => (await import('./repo-commands.js')).registerTest },
  {
    names: ['qemu', 'ssh'],
    specFree: true,
    load: async () => (await import('./vm-commands.js')).registerQemu,
  },
  {
    names: ['verify-boot'],
    specFree: true,
    load: async () => (await import('./vm-commands.js')).registerVerifyBoot,
  },
  { names: ['ci'], load: async () => (await import('./repo-commands.js')).registerCi },
  {
    names: ['completion'],
    readsCommands: true,
    load: async () => (await import('./repo-commands.js')).registerCompletion,
  },
];

/** Every command's name, and `help`. */
export const COMMAND_NAMES: readonly string[] = [...COMMANDS.flatMap((m) => m.names), 'help'];

/** The module of a command's name. */
export function commandModule(name: string): CommandModule | undefined {
  return COMMANDS.find((m) => m.names.includes(name));
}
