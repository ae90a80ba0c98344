import { access, constants, realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, sep } from 'node:path';
import { run } from '../exec/run.js';
import { joinPointer, showPath } from './document.js';
import type { DriversArray } from './drivers-array.js';
import type { FolderContents } from './folder.js';
import { isKernelConfigPath, isKernelPath, isKernelTarball } from './normalise.js';
import { KERNEL_PRESETS } from '../kernel/kconfig/index.js';
import { FLAVOURS } from './types.js';
import { packageManagerRules, specPackageManager } from './package-managers.js';
import { finding, type Finding, type Rule, type RuleInput } from './rule.js';
import { SPEC_LIMITS } from './limits.js';
import { ARCHES, DEFAULT_ARCH } from './arch.js';
import { globProblem } from '../rootfs/glob.js';
import { secureBootChain, secureBootKeys } from './secure-boot-rules.js';
import { testExpectPattern, testNamesUnique, testsBootable } from './boot-test-rules.js';

export type { Finding, Rule, RuleInput } from './rule.js';

export const nameMatchesFolder: Rule = {
  name: 'name-matches-folder',
  check(input) {
    const folder = basename(input.spec.repoDir);
    const out: Finding[] = [];
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(folder)) {
      out.push(
        finding(
          input,
          this.name,
          '/name',
          `the folder name "${folder}" is not a safe repo name: rename the folder using letters, digits, ".", "_" and "-"`,
        ),
      );
    } else if (input.raw.name !== folder) {
      out.push(
        finding(
          input,
          this.name,
          '/name',
          `name "${input.raw.name}" does not match the folder name "${folder}": set name to "${folder}" or rename the folder`,
        ),
      );
    }
    return out;
  },
};

/**
 * Why a path given in the spec is unusable, or undefined when it is a file (or folder, when
 * allowed) inside the repo folder. realpath on both sides, so a symlink cannot lead out.
 */
export async function checkInsideRepo(
  repoDir: string,
  path: string,
  opts: { allowDirectory?: boolean } = {},
): Promise<string | undefined> {
  if (isAbsolute(path)) return `"${path}" must be a path relative to the repo folder, not an absolute path`;
  if (path.split(/[\\/]/).includes('..'))
    return `"${path}" must stay inside the repo folder: remove the ".." and copy the file into the folder`;
  let real: string;
  try {
    real = await realpath(join(repoDir, path));
  } catch {
    return `file not found: "${path}" (paths are relative to the repo folder ${showPath(repoDir)})`;
  }
  const root = await realpath(repoDir);
  const rel = relative(root, real);
  if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel))
    return `"${path}" leads outside the repo folder through a symlink (to ${showPath(real)}): copy the file into the folder instead`;
  if (!opts.allowDirectory && !(await stat(real)).isFile()) return `"${path}" must be a file`;
  return undefined;
}

export const filesInsideRepo: Rule = {
  name: 'files-inside-repo',
  async check(input) {
    const { raw } = input;
    const paths: { pointer: string; path: string; allowDirectory?: boolean }[] = [];
    if (typeof raw.kernel === 'string' && isKernelPath(raw.kernel))
      paths.push({ pointer: '/kernel', path: raw.kernel });
    else if (typeof raw.kernel === 'object') {
      const k = raw.kernel;
      if (isKernelTarball(k.source)) paths.push({ pointer: '/kernel/source', path: k.source });
      if (isKernelConfigPath(k.config)) paths.push({ pointer: '/kernel/config', path: k.config });
      k.fragments?.forEach((f, i) => paths.push({ pointer: joinPointer('kernel', 'fragments', i), path: f }));
    }
    if (raw.apt?.sources !== undefined) paths.push({ pointer: '/apt/sources', path: raw.apt.sources });
    if (raw.tether !== undefined) paths.push({ pointer: '/tether', path: raw.tether });
    if (raw.dockerfile !== undefined) paths.push({ pointer: '/dockerfile', path: raw.dockerfile });
    raw.app?.files?.forEach((f, i) =>
      paths.push({ pointer: joinPointer('app', 'files', i, 'src'), path: f.src, allowDirectory: true }),
    );
    const out: Finding[] = [];
    for (const p of paths) {
      const problem = await checkInsideRepo(input.spec.repoDir, p.path, p);
      if (problem) out.push(finding(input, this.name, p.pointer, problem));
    }
    // Files found by name (*.repo, keys, sources, hooks) are read too: same fence.
    const { folder } = input;
    const found = [
      ...folder.specFiles,
      ...folder.repoFiles,
      ...folder.gpgKeys,
      ...folder.sourcesFiles,
      ...Object.values(folder.hooks).filter((h): h is string => h !== undefined),
    ];
    for (const file of found) {
      const problem = await checkInsideRepo(input.spec.repoDir, basename(file));
      if (problem) out.push(finding(input, this.name, '', problem));
    }
    return out;
  },
};

export const kernelFileFormat: Rule = {
  name: 'kernel-file-format',
  check(input) {
    const k = input.raw.kernel;
    if (typeof k !== 'string' || !isKernelPath(k) || /\.(rpm|deb)$/.test(k)) return [];
    return [
      finding(
        input,
        this.name,
        '/kernel',
        `"${k}" looks like a path but is not a .rpm or .deb file: give a kernel package file, or a package name without "/"`,
      ),
    ];
  },
};

/**
 * A kernel built from source: a preset that exists, a digest only for a tarball, and a source
 * package only where the package manager can fetch one package file (the kernel stage).
 */
export const kernelBuild: Rule = {
  name: 'kernel-build',
  check(input) {
    const k = input.raw.kernel;
    if (typeof k !== 'object') return [];
    const out: Finding[] = [];
    if (!isKernelConfigPath(k.config) && !(KERNEL_PRESETS as readonly string[]).includes(k.config))
      out.push(
        finding(
          input,
          this.name,
          '/kernel/config',
          `unknown kernel preset "${k.config}": use one of ${KERNEL_PRESETS.join(', ')}, or a .config file in the repo folder (a path with "/" or ending .config)`,
        ),
      );
    const tarball = isKernelTarball(k.source);
    if (k.sha256 !== undefined && !tarball)
      out.push(
        finding(
          input,
          this.name,
          '/kernel/sha256',
          `sha256 checks a source tarball, but "${k.source}" is a package name (the package manager checks packages): remove sha256, or give a .tar.xz in the repo folder`,
        ),
      );
    if (!tarball && !specPackageManager(input.raw.packagemanager).fetchesSinglePackages)
      out.push(
        finding(
          input,
          this.name,
          '/kernel/source',
          `packagemanager ${input.raw.packagemanager} cannot fetch the source package "${k.source}" on its own: give a kernel source tarball in the repo folder (linux-6.1.119.tar.xz)`,
        ),
      );
    return out;
  },
};

/** Characters a shell would act on; the staging script is split on blanks and never sees a shell. */
const SHELL_METACHARACTERS = /[;|&$`<>(){}*?~!#'"\\\n\r]/;

export const stagingScriptSafe: Rule = {
  name: 'staging-script-safe',
  check(input) {
    const out: Finding[] = [];
    for (const flavour of FLAVOURS) {
      const script = input.raw.packages_script_staging?.[flavour];
      const bad = script === undefined ? undefined : SHELL_METACHARACTERS.exec(script)?.[0];
      if (bad === undefined) continue;
      const shown = bad === '\n' || bad === '\r' ? 'a line break' : `"${bad}"`;
      out.push(
        finding(
          input,
          this.name,
          joinPointer('packages_script_staging', flavour),
          `contains the shell metacharacter ${shown}: this is one package-manager subcommand passed as arguments (e.g. "erase toybox"), never run by a shell; put shell commands in staging.sh`,
        ),
      );
    }
    return out;
  },
};

/** packages_script_staging in words its package manager takes (each adapter says which). */
export const stagingScriptWords: Rule = {
  name: 'staging-script-words',
  check(input) {
    const pm = specPackageManager(input.spec.packagemanager);
    const out: Finding[] = [];
    for (const flavour of FLAVOURS) {
      const script = input.raw.packages_script_staging?.[flavour];
      if (script === undefined || SHELL_METACHARACTERS.test(script)) continue;
      const problem = pm.checkScript(input.spec.stagingScript[flavour]);
      if (problem)
        out.push(
          finding(
            input,
            this.name,
            joinPointer('packages_script_staging', flavour),
            `${problem} (packagemanager ${input.spec.packagemanager})`,
          ),
        );
    }
    return out;
  },
};

export const bootFirmware: Rule = {
  name: 'boot-firmware',
  check(input) {
    if (input.spec.boot.bios || input.spec.boot.uefi) return [];
    return [finding(input, this.name, '/boot', 'both bios and uefi are false: enable at least one firmware')];
  },
};

/**
 * Only x86 firmware can be a BIOS: an arm64 image boots under UEFI (AAVMF, a board's EDK2).
 * `--arch arm64` on a spec written for amd64 needs its `boot` to say so too.
 */
export const archFirmware: Rule = {
  name: 'arch-firmware',
  check(input) {
    const { arch, boot } = input.spec;
    if (!boot.bios || ARCHES[arch].bios) return [];
    return [
      finding(
        input,
        this.name,
        input.raw.boot?.bios !== undefined ? '/boot/bios' : '/boot',
        `arch ${arch} (from ${archFrom(input)}) has no BIOS boot, only UEFI: set boot.bios to false or drop it`,
      ),
    ];
  },
};

/**
 * What a build for another architecture than the host's can do today (docs/arm64.md): an apt
 * root (mmdebstrap under qemu-user), the isobuild profile, no signed chain.
 */
export const archCross: Rule = {
  name: 'arch-cross',
  check(input) {
    const { arch, packagemanager, profile, secureBoot } = input.spec;
    if (arch === DEFAULT_ARCH) return [];
    const from = archFrom(input);
    const out: Finding[] = [];
    if (specPackageManager(packagemanager).buildsForeignArch !== true)
      out.push(
        finding(
          input,
          this.name,
          '/packagemanager',
          `arch ${arch} (from ${from}): only apt roots are built for another architecture (mmdebstrap with qemu-user); packagemanager ${packagemanager} builds ${DEFAULT_ARCH} only`,
        ),
      );
    if (profile !== 'isobuild')
      out.push(
        finding(
          input,
          this.name,
          '/profile',
          `arch ${arch} (from ${from}): profile ${profile} logs on x86 serial ports; use profile isobuild`,
        ),
      );
    if (secureBoot !== undefined)
      out.push(
        finding(
          input,
          this.name,
          '/secure_boot',
          `arch ${arch} (from ${from}): secure_boot is ${DEFAULT_ARCH} only (shim-signed and grub-efi-amd64-signed); drop secure_boot`,
        ),
      );
    // The kernel stage builds an x86 bzImage; a cross-compiled kernel is not wired yet (docs/arm64.md).
    if (input.spec.kernel.kind === 'build')
      out.push(
        finding(
          input,
          this.name,
          '/kernel',
          `arch ${arch} (from ${from}): a kernel built from source is ${DEFAULT_ARCH} only today; name a packaged kernel (linux-image-cloud-${arch})`,
        ),
      );
    return out;
  },
};

/** Where the build's architecture came from, for messages: the spec or `build --arch`. */
function archFrom(input: RuleInput): string {
  return input.raw.arch === input.spec.arch ? 'the spec' : '--arch';
}

/** Rules over the parsed spec; run only when the document passed the schema. */
/** Package lists, strings as VIC writes them or arrays, hold names the package manager takes. */
export const packageNames: Rule = {
  name: 'package-names',
  check(input) {
    const { pattern, syntax } = specPackageManager(input.spec.packagemanager).packageName;
    const out: Finding[] = [];
    for (const [list, value] of Object.entries(input.raw.packages ?? {})) {
      const items: [string, string][] =
        typeof value === 'string'
          ? value
              .split(/\s+/)
              .filter(Boolean)
              .map((name) => [name, joinPointer('packages', list)])
          : (value ?? []).map((name, i) => [name, joinPointer('packages', list, i)]);
      for (const [name, pointer] of items)
        if (!pattern.test(name))
          out.push(
            finding(
              input,
              this.name,
              pointer,
              `${JSON.stringify(name)} is not a valid ${input.spec.packagemanager} package name (${syntax}): fix or remove it`,
            ),
          );
    }
    return out;
  },
};

/** x86 kernels keep 2048 bytes of command line (COMMAND_LINE_SIZE); the rest is silently cut. */
export const cmdlineLength: Rule = {
  name: 'cmdline-length',
  check(input) {
    const cmdline = input.raw.cmdline;
    if (cmdline === undefined) return [];
    const bytes = Buffer.byteLength(cmdline);
    if (bytes <= SPEC_LIMITS.cmdlineBytes) return [];
    return [
      finding(
        input,
        this.name,
        '/cmdline',
        `${bytes} bytes: the x86 kernel command line holds at most ${SPEC_LIMITS.cmdlineBytes}, isobuild's own arguments included`,
      ),
    ];
  },
};

/** minimise globs compile (picomatch): a bad one is found here, not when the build reaches minimise. */
export const minimiseGlobs: Rule = {
  name: 'minimise-glob',
  check(input) {
    const out: Finding[] = [];
    for (const list of ['keep', 'list_dirs', 'exclude'] as const)
      for (const [i, pattern] of (input.raw.minimise?.[list] ?? []).entries()) {
        const problem = globProblem(pattern);
        if (problem)
          out.push(
            finding(
              input,
              this.name,
              joinPointer('minimise', list, i),
              `${JSON.stringify(pattern)} is not a valid glob: ${problem}`,
            ),
          );
      }
    return out;
  },
};

/** The rules of every spec; each package manager adds its own (SpecPackageManager.specRules). */
export const SPEC_RULES: readonly Rule[] = [
  nameMatchesFolder,
  filesInsideRepo,
  kernelFileFormat,
  kernelBuild,
  stagingScriptSafe,
  stagingScriptWords,
  packageNames,
  cmdlineLength,
  bootFirmware,
  archFirmware,
  archCross,
  minimiseGlobs,
  secureBootChain,
  secureBootKeys,
  testNamesUnique,
  testExpectPattern,
  testsBootable,
];

export async function applyRules(
  input: RuleInput,
  rules: readonly Rule[] = [...SPEC_RULES, ...packageManagerRules()],
): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const rule of rules) out.push(...(await rule.check(input)));
  return out;
}

// --- Rules over the repo folder's hook files: they run whether or not the spec is valid. ---

async function isReadable(file: string): Promise<boolean> {
  return access(file, constants.R_OK).then(
    () => true,
    () => false,
  );
}

/** `bash -n` each hook: a syntax error found now beats one found half-way through a build. */
export async function checkHooksParse(hooks: FolderContents['hooks']): Promise<Finding[]> {
  // At once: each is a process start, and `validate` and every build wait for them.
  const found = await Promise.all(Object.values(hooks).map((file) => checkHookParses(file)));
  return found.flat();
}

async function checkHookParses(file: string | undefined): Promise<Finding[]> {
  // An unreadable hook is reported once, by the loader's read; bash would only echo it.
  if (file === undefined || !(await isReadable(file))) return [];
  // A clean environment: bash would otherwise source $BASH_ENV, even with -n.
  const res = await run('bash', ['--noprofile', '--norc', '-n', file], {
    cleanEnv: true,
    env: { PATH: '/usr/bin:/bin' },
    allowFailure: true,
  });
  if (res.exitCode === 0) return [];
  const first = res.stderr.split('\n').find((l) => l.trim() !== '') ?? `exit status ${res.exitCode}`;
  const m = /: line (\d+): (.*)$/.exec(first);
  return [
    {
      severity: 'error',
      diagnostic: {
        file: showPath(file),
        line: m ? Number(m[1]) : 1,
        col: 1,
        pointer: '',
        message: `bash -n: ${m ? m[2] : first}: fix the shell syntax of ${basename(file)}`,
        rule: 'hooks-parse',
      },
    },
  ];
}

/** The drivers array must be readable without running init.sh, and hold module names. */
export function checkInitDrivers(initFile: string, parsed: DriversArray): Finding[] {
  const file = showPath(initFile);
  const out: Finding[] = parsed.errors.map((e) => ({
    severity: 'error',
    diagnostic: {
      file,
      line: e.line,
      col: e.col,
      pointer: '',
      message: e.message,
      rule: 'init-drivers-readable',
    },
  }));
  for (const [i, d] of parsed.drivers.entries()) {
    if (/^[A-Za-z0-9_-]+$/.test(d)) continue;
    const at = parsed.positions[i] ?? { line: 1, col: 1 };
    out.push({
      severity: 'error',
      diagnostic: {
        file,
        line: at.line,
        col: at.col,
        pointer: '',
        message: `"${d}" in the drivers array is not a kernel module name (letters, digits, "_" and "-")`,
        rule: 'init-drivers-readable',
      },
    });
  }
  return out;
}
