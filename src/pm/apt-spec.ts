import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { showPath } from '../spec/document.js';
import type { SpecPackageManager } from '../spec/package-managers.js';
import { versionInName } from '../spec/release.js';
import { finding, type Finding, type Rule } from '../spec/rule.js';
import { originOf } from '../spec/setting.js';
import { APT_SOURCES_ENV, envSourcesFiles, findAptSources, suiteOfSources } from './apt-sources.js';

/** Debian's release numbers and their suites; apt wants the suite. */
export const DEBIAN_CODENAMES: Readonly<Record<string, string>> = {
  '10': 'buster',
  '11': 'bullseye',
  '12': 'bookworm',
  '13': 'trixie',
  '14': 'forky',
};

function releaseFromName(name: string): string | undefined {
  const version = versionInName(name);
  if (version === undefined || !name.startsWith('debian-')) return undefined;
  // Other apt distributions (Ubuntu...) name suites too: there is no safe guess.
  return DEBIAN_CODENAMES[version];
}

export const aptReleaseDerivable: Rule = {
  name: 'release-derivable',
  check(input) {
    if (input.spec.release !== '' || input.raw.packagemanager !== 'apt') return [];
    return [
      finding(
        input,
        this.name,
        '/name',
        `no apt suite: the name "${input.raw.name}" is not debian-<version> and no apt sources (the repo's, else the host's) name a suite: set "release" (e.g. "bookworm")`,
      ),
    ];
  },
};

/** The apt section with another package manager is a warning: it is harmless, but it does nothing. */
export const aptOnlyFields: Rule = {
  name: 'apt-only-fields',
  check(input) {
    const pm = input.raw.packagemanager;
    const out: Finding[] = [];
    if (pm !== 'apt' && input.raw.apt !== undefined) {
      out.push(
        finding(
          input,
          this.name,
          '/apt',
          `ignored: the apt section only applies to packagemanager "apt" (this repo uses ${pm}); remove it`,
          'warning',
          { key: true },
        ),
      );
    }
    if (pm === 'apt' && input.folder.repoFiles.length > 0) {
      const names = input.folder.repoFiles.map((f) => basename(f)).join(', ');
      out.push(
        finding(
          input,
          this.name,
          '/packagemanager',
          `ignored: ${names} (yum repository definitions) are not read by apt; use a .sources or sources.list file`,
          'warning',
        ),
      );
    }
    return out;
  },
};

export const aptSourcesUnique: Rule = {
  name: 'apt-sources-unique',
  check(input) {
    const files = input.folder.sourcesFiles;
    if (input.raw.packagemanager !== 'apt' || input.raw.apt?.sources !== undefined || files.length < 2)
      return [];
    return [
      finding(
        input,
        this.name,
        '/packagemanager',
        `several apt sources files (${files.map((f) => basename(f)).join(', ')}): set apt.sources to the one to use`,
      ),
    ];
  },
};

/** What the spec's lifecycle asks of apt (the rest of its adapter is apt.ts). */
export const aptSpec: Omit<SpecPackageManager, 'name' | 'packageName' | 'checkScript'> = {
  releaseFromName,

  /** The name's Debian version, else the suite of the sources the build will use (the repo's own file, else the host's). */
  async resolveRelease(spec) {
    const fromName = releaseFromName(spec.name);
    if (fromName !== undefined) return { release: fromName, from: `from the name ${spec.name}` };
    const sources = await findAptSources(spec).catch(() => undefined);
    for (const file of sources?.files ?? []) {
      const suite = suiteOfSources(await readFile(file, 'utf8').catch(() => ''));
      if (suite)
        return {
          release: suite,
          from: `the suite of ${sources!.origin === 'host' ? "the host's " : ''}${showPath(file)}`,
        };
    }
    return { release: '', from: 'nowhere' };
  },

  releaseOrigin(spec, env) {
    const fromEnv = envSourcesFiles(env[APT_SOURCES_ENV]);
    return fromEnv.some((f) => spec.releaseFrom?.includes(showPath(f))) ? 'environment' : 'derived';
  },

  specRules: [aptReleaseDerivable, aptOnlyFields, aptSourcesUnique],

  describeSpec(spec, env) {
    const fromEnv = envSourcesFiles(env[APT_SOURCES_ENV]);
    return [
      {
        section: 'distribution',
        label: 'apt',
        value: `variant ${spec.apt.variant}, components ${spec.apt.components.join(' ')}`,
        origin: originOf(spec, 'apt'),
      },
      // The order the build looks in (apt-sources.ts): the variable, the spec, the host.
      {
        section: 'distribution',
        label: 'apt sources',
        value: fromEnv.length
          ? `${fromEnv.map((f) => showPath(f)).join(', ')} (${APT_SOURCES_ENV})`
          : spec.apt.sources
            ? showPath(spec.apt.sources)
            : "the host's apt configuration",
        origin: fromEnv.length ? 'environment' : spec.apt.sources ? 'spec file' : 'default',
      },
    ];
  },
};
