import type { RepoSpec, ResolvedSpec } from './types.js';

/** Where a resolved setting came from: `isobuild summary` says it beside each value. */
export const SETTING_ORIGINS = [
  'spec file',
  'base spec',
  'default',
  'environment',
  'repo folder',
  'derived',
] as const;
export type SettingOrigin = (typeof SETTING_ORIGINS)[number];

/** The groups `isobuild summary` prints the settings in, in this order. */
export const SPEC_SECTIONS = ['repo', 'distribution', 'packages', 'hooks', 'boot', 'app'] as const;
export type SpecSection = (typeof SPEC_SECTIONS)[number];

export interface SpecSetting {
  readonly section: SpecSection;
  readonly label: string;
  readonly value: string;
  readonly origin: SettingOrigin;
}

/**
 * 'spec file' when the repo's own file sets any of the fields, 'base spec' when only a base it
 * extends does (an object field set in both counts as the repo's), else 'default'.
 */
export function originOf(spec: ResolvedSpec, ...fields: (keyof RepoSpec)[]): SettingOrigin {
  const raw: Partial<RepoSpec> = spec.raw ?? {};
  const set = fields.filter((f) => raw[f] !== undefined);
  if (!set.length) return 'default';
  const own = spec.extended?.ownFields;
  return !own || set.some((f) => own.includes(f)) ? 'spec file' : 'base spec';
}
