import { join } from 'node:path';
import { InternalError, UsageError } from '../errors.js';
import type { Flavour } from '../spec/types.js';
import type { InitrdRoot, MicrovmPlan, OutputFormat, StageName } from './names.js';

/** One output a target writes, and where it goes when the user names no destination. */
export interface TargetOutput {
  readonly format: OutputFormat;
  /** Relative to the output folder (bin/); `<repo>` stands for the repo's name. VIC's names. */
  readonly path: string;
  /** Written only when `build --format` names it (a disk's other formats). */
  readonly onRequest?: true;
}

/** Everything a target means; the plan, the CLI, `isobuild plan` and the docs read it from here. */
export interface TargetDefinition {
  /** One line for `--help` and the docs. */
  readonly description: string;
  /** Where the pipeline stops (stages after it never run; stages before it run when they apply). */
  readonly lastStage: StageName;
  /** The staging flavour the root is built on (its packages and staging script). */
  readonly flavour: Flavour;
  /** The app appliance: the spec's `app` section goes into the root, with its own init. */
  readonly app: boolean;
  /** Set when the root boots from a disk with the microVM init; says which root image the disk stage makes. */
  readonly microvm?: MicrovmPlan;
  readonly initrdRoot: InitrdRoot;
  /** Set when the root goes onto a bootable GPT disk (the disk-image stage; docs/disk.md). */
  readonly diskImage?: true;
  /** In order; `--output` names the first. */
  readonly outputs: readonly TargetOutput[];
}

const REPO = '<repo>';

/**
 * Every target, by the name `--target` takes (VIC's make target names where it has them), in the
 * order help and docs list them. A new target is one entry here (and a Makefile rule).
 */
const ENTRIES = {
  'iso-base': {
    description: 'the base root: package-manager setup, base packages, kernel and modules (cached only)',
    lastStage: 'iso-base',
    flavour: 'bootstrap',
    app: false,
    initrdRoot: 'none',
    outputs: [],
  },
  'bootstrap-staging': {
    description: 'the base root plus the bootstrap packages and staging.sh (cached only)',
    lastStage: 'staging',
    flavour: 'bootstrap',
    app: false,
    initrdRoot: 'none',
    outputs: [],
  },
  'appliance-staging': {
    description: 'the base root plus the appliance packages and staging.sh (cached only)',
    lastStage: 'staging',
    flavour: 'appliance',
    app: false,
    initrdRoot: 'none',
    outputs: [],
  },
  bootstrap: {
    description: "VIC's bootstrap ISO: a small initrd root whose init starts the tether",
    lastStage: 'iso',
    flavour: 'bootstrap',
    app: false,
    initrdRoot: 'small',
    outputs: [{ format: 'iso', path: `bootstrap-${REPO}.iso` }],
  },
  appliance: {
    description: "VIC's appliance ISO: the whole root, booted with systemd",
    lastStage: 'iso',
    flavour: 'appliance',
    app: false,
    initrdRoot: 'full',
    outputs: [{ format: 'iso', path: `appliance-${REPO}.iso` }],
  },
  initrd: {
    description: "the bootstrap's kernel, initrd and command line, to boot without an ISO",
    lastStage: 'initrd',
    flavour: 'bootstrap',
    app: false,
    initrdRoot: 'small',
    outputs: [{ format: 'kernel+initrd', path: REPO }],
  },
  uki: {
    description:
      "a Unified Kernel Image: the bootstrap's kernel, initrd and command line on systemd-stub, one EFI program (signed with secure_boot {key, cert})",
    lastStage: 'uki',
    flavour: 'bootstrap',
    app: false,
    initrdRoot: 'small',
    outputs: [{ format: 'uki', path: `uki-${REPO}.efi` }],
  },
  app: {
    description:
      "the spec's app booting straight into /app/run (minimised when the spec says so): ISO and kernel+initrd",
    lastStage: 'iso',
    flavour: 'bootstrap',
    app: true,
    initrdRoot: 'full',
    outputs: [
      { format: 'iso', path: `app-${REPO}.iso` },
      { format: 'kernel+initrd', path: `app-${REPO}` },
    ],
  },
  rootfs: {
    description: "osbuilder's rootfs: the microVM root as a folder",
    lastStage: 'tether',
    flavour: 'bootstrap',
    app: false,
    microvm: {},
    initrdRoot: 'none',
    outputs: [{ format: 'rootfs', path: `rootfs-${REPO}` }],
  },
  'rootfs-tar': {
    description: 'the microVM root as a tarball: sorted, numeric owners, mtimes clamped',
    lastStage: 'tether',
    flavour: 'bootstrap',
    app: false,
    microvm: {},
    initrdRoot: 'none',
    outputs: [{ format: 'rootfs.tar', path: `rootfs-${REPO}.tar` }],
  },
  'rootfs-ext4': {
    description: 'the microVM root as an ext4 image',
    lastStage: 'disk',
    flavour: 'bootstrap',
    app: false,
    microvm: { disk: 'ext4' },
    initrdRoot: 'none',
    outputs: [{ format: 'rootfs.ext4', path: `rootfs-${REPO}.ext4` }],
  },
  'rootfs-squashfs': {
    description: 'the microVM root as a squashfs image',
    lastStage: 'disk',
    flavour: 'bootstrap',
    app: false,
    microvm: { disk: 'squashfs' },
    initrdRoot: 'none',
    outputs: [{ format: 'rootfs.squashfs', path: `rootfs-${REPO}.squashfs` }],
  },
  kernel: {
    description:
      "osbuilder's kernel: the guest kernel as an uncompressed ELF (vmlinux) and as a bzImage (vmlinuz); built when the spec's kernel is an object",
    lastStage: 'disk',
    flavour: 'bootstrap',
    app: false,
    microvm: {},
    initrdRoot: 'none',
    outputs: [
      { format: 'vmlinux', path: `vmlinux-${REPO}` },
      { format: 'vmlinuz', path: `vmlinuz-${REPO}` },
    ],
  },
  image: {
    description: "osbuilder's image: a firecracker folder whose rootfs.ext4 is sized by --size (IMG_SIZE)",
    lastStage: 'disk',
    flavour: 'bootstrap',
    app: false,
    microvm: { disk: 'ext4' },
    initrdRoot: 'none',
    outputs: [{ format: 'firecracker', path: `image-${REPO}` }],
  },
  firecracker: {
    description:
      'a Firecracker folder: vmlinux, rootfs.ext4, vm-config.json (and an initrd when the kernel needs one)',
    lastStage: 'disk',
    flavour: 'bootstrap',
    app: false,
    microvm: { disk: 'ext4' },
    initrdRoot: 'none',
    outputs: [{ format: 'firecracker', path: `firecracker-${REPO}` }],
  },
  celestial: {
    description: "Celestial's folder: the firecracker folder with rootfs.squashfs under a tmpfs overlay",
    lastStage: 'disk',
    flavour: 'bootstrap',
    app: false,
    microvm: { disk: 'squashfs' },
    initrdRoot: 'none',
    outputs: [{ format: 'firecracker', path: `celestial-${REPO}` }],
  },
  'appliance-disk': {
    description:
      'the appliance root on a GPT disk booting under BIOS and UEFI: raw, or --format qcow2|vmdk|vhdx|vpc|ova',
    lastStage: 'disk-image',
    flavour: 'appliance',
    app: false,
    initrdRoot: 'none',
    diskImage: true,
    outputs: [
      { format: 'raw', path: `appliance-${REPO}.raw` },
      { format: 'qcow2', path: `appliance-${REPO}.qcow2`, onRequest: true },
      { format: 'vmdk', path: `appliance-${REPO}.vmdk`, onRequest: true },
      { format: 'vhdx', path: `appliance-${REPO}.vhdx`, onRequest: true },
      { format: 'vpc', path: `appliance-${REPO}.vhd`, onRequest: true },
      { format: 'ova', path: `appliance-${REPO}.ova`, onRequest: true },
    ],
  },
} satisfies Record<string, TargetDefinition>;

export type Target = keyof typeof ENTRIES;

export const TARGET_TABLE: Readonly<Record<Target, TargetDefinition>> = ENTRIES;

/** The target names, in table order. */
export const TARGETS = Object.keys(TARGET_TABLE) as readonly Target[];

/** The fields of a BuildPlan (types.ts) that its target decides. */
export interface TargetPlanFields {
  readonly target: Target;
  /** Which staging flavour the target builds on; 'app' builds on bootstrap. */
  readonly flavour: Flavour;
  /** Whether the target is the app appliance (traced minimisation). */
  readonly app: boolean;
  /** Set when the root boots as a microVM's disk rather than from the initrd. */
  readonly microvm?: MicrovmPlan;
  /** Set when the root goes onto a bootable GPT disk (the disk-image stage). */
  readonly diskImage?: true;
  readonly initrdRoot: InitrdRoot;
  readonly outputs: readonly OutputFormat[];
}

/**
 * The plan's fields that the target decides, from its entry: what makePlan (and a test's plan)
 * spreads. `formats` (build --format) picks among the target's outputs; without it, those not
 * written only on request.
 */
export function targetPlanFields(target: Target, formats?: readonly OutputFormat[]): TargetPlanFields {
  const meaning: TargetDefinition = TARGET_TABLE[target];
  return {
    target,
    flavour: meaning.flavour,
    app: meaning.app,
    ...(meaning.microvm ? { microvm: meaning.microvm } : {}),
    ...(meaning.diskImage ? { diskImage: meaning.diskImage } : {}),
    initrdRoot: meaning.initrdRoot,
    outputs: selectOutputs(target, formats),
  };
}

/** The target's outputs `--format` names (in the target's order), or its default ones. */
export function selectOutputs(target: Target, formats?: readonly OutputFormat[]): OutputFormat[] {
  const outputs: readonly TargetOutput[] = TARGET_TABLE[target].outputs;
  if (!formats?.length) return outputs.filter((o) => !o.onRequest).map((o) => o.format);
  const unknown = formats.filter((f) => !outputs.some((o) => o.format === f));
  if (unknown.length)
    throw new UsageError(
      `--format ${unknown.join(', ')}: target ${target} writes ${outputs.map((o) => o.format).join(', ') || 'no output'}`,
    );
  return outputs.filter((o) => formats.includes(o.format)).map((o) => o.format);
}

/** An output's default path for this repo, under `outputDir` (e.g. bin/bootstrap-debian-12.iso). */
export function outputPathFor(target: Target, format: OutputFormat, repo: string, outputDir: string): string {
  const output = TARGET_TABLE[target].outputs.find((o) => o.format === format);
  if (!output) throw new InternalError(`target ${target} writes no ${format} output`);
  return join(outputDir, output.path.replaceAll(REPO, repo));
}

/** Where the plan writes `format` when the user names no destination (a BuildPlan is one). */
export function defaultOutputPath(
  plan: {
    readonly target: Target;
    readonly spec: { readonly name: string };
    readonly options: { readonly outputDir: string };
  },
  format: OutputFormat,
): string {
  return outputPathFor(plan.target, format, plan.spec.name, plan.options.outputDir);
}

/** `--help` text: one line per target with what it is and where its outputs go. */
export function describeTargets(outputDir = 'bin'): string {
  const width = Math.max(...TARGETS.map((t) => t.length));
  return TARGETS.map((t) => {
    const { description, outputs } = TARGET_TABLE[t];
    const paths = outputs.map((o) => `${outputDir}/${o.path}`).join(', ');
    return `  ${t.padEnd(width)}  ${description}${paths ? ` → ${paths}` : ''}`;
  }).join('\n');
}

/** The generated table sits between these lines of docs/cli.md (docs/gen-targets.mjs writes it). */
export const TARGETS_DOC_BEGIN =
  '<!-- targets table: generated from src/stage/targets.ts by npm run gen:docs -->';
export const TARGETS_DOC_END = '<!-- end of targets table -->';

/**
 * The docs' targets table (docs/cli.md, between the targets markers): generated from the table
 * so the docs cannot drift from it (test/unit/stage/targets.test.ts compares them).
 */
export function formatTargetsMarkdown(outputDir = 'bin'): string {
  const rows = TARGETS.map((t) => {
    const d = TARGET_TABLE[t];
    const outputs = d.outputs.length
      ? d.outputs
          .map((o) => `\`${o.format}\` → \`${outputDir}/${o.path}\`${o.onRequest ? ' (--format)' : ''}`)
          .join(', ')
      : 'none (the root stays in the cache; `--export`)';
    const flavour = d.app ? 'bootstrap + app' : d.flavour;
    const root = d.microvm ? `microVM${d.microvm.disk ? `, ${d.microvm.disk}` : ''}` : d.initrdRoot;
    return `| \`${t}\` | ${d.lastStage} | ${flavour} | ${root} | ${outputs} | ${d.description} |`;
  });
  return [
    '| target | last stage | flavour | root | outputs → default path | what it is |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The outputs `isobuild run` and `isobuild test` boot with a command (src/image/vm-flags.ts). */
export const BOOTABLE_FORMATS: readonly OutputFormat[] = ['iso', 'kernel+initrd', 'firecracker', 'raw'];

/** The output of `target` that boot tests boot, or undefined when it writes none that boots. */
export function bootableOutput(target: Target): OutputFormat | undefined {
  return TARGET_TABLE[target].outputs.find((o) => !o.onRequest && BOOTABLE_FORMATS.includes(o.format))
    ?.format;
}
