import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { showPath } from '../spec/document.js';
import type { SpecPackageManager } from '../spec/package-managers.js';
import { versionInName } from '../spec/release.js';
import { finding, type Rule } from '../spec/rule.js';
import type { SpecSetting } from '../spec/setting.js';
import type { ResolvedSpec } from '../spec/types.js';
import { HOST_YUM_REPOS, hostRepoFiles } from './rpm-repo-files.js';
import { RPM_TOOLS } from './rpm-config.js';

const isRpm = (pm: string) => (RPM_TOOLS as readonly string[]).includes(pm);

/** The .repo files that say $releasever: only they need a release. */
async function releaseUsers(repoFiles: readonly string[]): Promise<string[]> {
  const users: string[] = [];
  for (const file of repoFiles)
    if ((await readFile(file, 'utf8').catch(() => '')).includes('$releasever')) users.push(basename(file));
  return users;
}

export const rpmReleaseDerivable: Rule = {
  name: 'release-derivable',
  async check(input) {
    if (input.spec.release !== '' || !isRpm(input.raw.packagemanager)) return [];
    const users = await releaseUsers(input.spec.repoFiles);
    if (!users.length) return [];
    return [
      finding(
        input,
        this.name,
        '/name',
        `${users.join(', ')} use $releasever and the name "${input.raw.name}" carries no version: set "release" (e.g. "2.0")`,
      ),
    ];
  },
};

/**
 * VIC's `ci` repo has no .repo file: its build image's own repositories were used. So do we (the
 * host's /etc/yum.repos.d), with a warning, and the build stops if the host has none either.
 */
export const rpmRepoFiles: Rule = {
  name: 'rpm-repo-files',
  check(input) {
    const pm = input.raw.packagemanager;
    if (!isRpm(pm) || input.folder.repoFiles.length > 0) return [];
    const host = input.spec.repoFiles;
    return [
      finding(
        input,
        this.name,
        '/packagemanager',
        host.length
          ? `no *.repo file in the repo folder: ${pm} uses the host's ${host.map((f) => showPath(f)).join(', ')}`
          : `no *.repo file in the repo folder and none in the host's ${HOST_YUM_REPOS}: a build fails until you add one, e.g. ${input.raw.name}.repo`,
        'warning',
      ),
    ];
  },
};

/** The repo folder's .repo files and keys, as plan and summary show them. */
export function describeRepoFiles(spec: ResolvedSpec): SpecSetting[] {
  const files = (xs: readonly string[]) => (xs.length ? xs.map((f) => showPath(f)).join(', ') : '(none)');
  return [
    { section: 'distribution', label: 'repo files', value: files(spec.repoFiles), origin: 'repo folder' },
    { section: 'distribution', label: 'gpg keys', value: files(spec.gpgKeys), origin: 'repo folder' },
  ];
}

/** What the spec's lifecycle asks of dnf, yum and tdnf (the rest of their adapter is rpm-adapter.ts). */
export const rpmSpec: Omit<SpecPackageManager, 'name' | 'packageName' | 'checkScript'> = {
  releaseFromName: versionInName,

  /**
   * The name's version; a repo whose .repo files never say $releasever needs none, and gets what
   * follows the name's dash, as VIC's make did (`ci` → `ci`, harmless there).
   */
  async resolveRelease(spec) {
    const fromName = versionInName(spec.name);
    if (fromName !== undefined) return { release: fromName, from: `from the name ${spec.name}` };
    if ((await releaseUsers(spec.repoFiles)).length) return { release: '', from: 'nowhere' };
    return { release: spec.name.replace(/^[^-]*-/, ''), from: 'not used: no .repo file says $releasever' };
  },

  async fromHost(spec) {
    return spec.repoFiles.length ? {} : { repoFiles: await hostRepoFiles() };
  },

  specRules: [rpmReleaseDerivable, rpmRepoFiles],
  describeSpec: (spec) => describeRepoFiles(spec),
};
