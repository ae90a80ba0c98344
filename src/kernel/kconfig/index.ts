/**
 * The Kconfig layer of a kernel built from source: presets, fragment checks, and turning the
 * drivers array into built-in (=y) options. The kernel stage calls these before `make`, so a
 * misspelled driver or an option that can never be on fails in seconds, not after a build.
 */
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../errors.js';

/** Where a requested driver came from (the spec, init.sh, VIC's common list), for messages. */
export interface DriverOrigin {
  file: string;
  line: number;
}

export interface DriverRequest {
  /** Module name as `modprobe` spells it (dashes or underscores). */
  name: string;
  origin?: DriverOrigin;
}

/** A driver and the Kconfig symbol (without CONFIG_) whose Makefile line builds it. */
export interface DriverSymbol {
  driver: string;
  symbol: string;
  /** Path of the Makefile/Kbuild relative to the source tree. */
  makefile: string;
  line: number;
  origin?: DriverOrigin;
}

/** A requested symbol that did not end `=y` after olddefconfig, with the reason read from Kconfig. */
export interface BuiltinProblem {
  driver: string;
  symbol: string;
  /** `y`, `m` or `n` (unset). */
  value: 'y' | 'm' | 'n';
  /** The dependency expression (or selecting symbol) that is not met, as Kconfig writes it. */
  unmet: string;
  message: string;
}

export const KERNEL_PRESETS = ['microvm', 'iso'] as const;
export type KernelPresetName = (typeof KERNEL_PRESETS)[number];

export interface KernelPreset {
  name: KernelPresetName;
  base: 'tinyconfig' | 'defconfig';
  /** Absolute path of the shipped fragment (templates/kernel/<name>.config). */
  fragment: string;
}

/** templates/kernel/, from src/kernel/kconfig/ or dist/kernel/kconfig/ alike. */
export const KERNEL_TEMPLATES = fileURLToPath(new URL('../../../templates/kernel/', import.meta.url));

/** Maps module names to the Kconfig symbol that builds them, from the tree's Makefiles/Kbuild. */
export function driverSymbols(
  _sourceDir: string,
  _drivers: readonly DriverRequest[],
): Promise<DriverSymbol[]> {
  return Promise.reject(new Error('TODO'));
}

/** A Kconfig fragment setting each symbol and the dependencies it needs =y. */
export function builtinFragment(_sourceDir: string, _symbols: readonly DriverSymbol[]): Promise<string> {
  return Promise.reject(new Error('TODO'));
}

/** After olddefconfig: each requested symbol must be =y. */
export function checkBuiltins(
  _sourceDir: string,
  _dotConfig: string,
  _symbols: readonly DriverSymbol[],
): Promise<BuiltinProblem[]> {
  return Promise.reject(new Error('TODO'));
}

/** Unknown symbols in a fragment file → typed error with file:line and a suggestion. */
export function checkFragment(_sourceDir: string, _fragmentFile: string): Promise<void> {
  return Promise.reject(new Error('TODO'));
}

/** The presets: name → base config and shipped fragment; an unknown name is a UsageError. */
export function kernelPreset(name: string): KernelPreset {
  if (!(KERNEL_PRESETS as readonly string[]).includes(name))
    throw new UsageError(`unknown kernel preset "${name}"; presets: ${KERNEL_PRESETS.join(', ')}`);
  const preset = name as KernelPresetName;
  return { name: preset, base: 'tinyconfig', fragment: `${KERNEL_TEMPLATES}${preset}.config` };
}
