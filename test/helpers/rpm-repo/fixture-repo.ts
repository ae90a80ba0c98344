// The package managers a spec is checked against: src/pm/index.ts hands them to src/spec/.
import '../../../src/pm/index.js';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { loadRepoFolder } from '../../../src/spec/load.js';
import { formatDiagnostic } from '../../../src/errors.js';
import type { ResolvedSpec } from '../../../src/spec/types.js';
import { FIXTURE_DIR } from './build-rpm-repo.js';

/** The sample repo folder of the offline RPM test distribution. */
export const FIXTURE_REPO = join(FIXTURE_DIR, 'offline-1.0');

export interface FixtureRepo {
  /** The repo folder (a copy of FIXTURE_REPO with its .repo file). */
  dir: string;
  spec: ResolvedSpec;
  cleanup(): Promise<void>;
}

export interface FixtureOptions {
  packagemanager: 'dnf' | 'yum' | 'tdnf';
  /** file://<repo dir> or http://127.0.0.1:<port>/ */
  baseurl: string;
  gpgcheck?: boolean;
  /** A public key file copied into the repo folder (the spec loader picks up *.asc / *GPG-KEY*). */
  gpgKey?: string;
  /** Top-level spec fields replacing the sample's (undefined removes one). */
  spec?: Record<string, unknown>;
  /** Files of the sample folder left out (hooks a smaller root cannot run). */
  without?: readonly string[];
  /** More repositories, one .repo file each: name -> baseurl. */
  extraRepos?: Record<string, string>;
}

function renderRepoFile(id: string, name: string, baseurl: string, gpgcheck: boolean): string {
  return [
    `[${id}]`,
    `name=${name}`,
    `baseurl=${baseurl}`,
    'enabled=1',
    `gpgcheck=${gpgcheck ? 1 : 0}`,
    '',
  ].join('\n');
}

/**
 * A copy of the sample repo folder in a temp dir, with the package manager chosen by the
 * test and a .repo file pointing at the offline repository, loaded by the real spec loader.
 */
export async function makeFixtureRepo(opts: FixtureOptions): Promise<FixtureRepo> {
  const parent = await mkdtemp(join(tmpdir(), 'isobuild-rpm-fixture-'));
  const cleanup = () => rm(parent, { recursive: true, force: true });
  try {
    const dir = join(parent, basename(FIXTURE_REPO));
    await cp(FIXTURE_REPO, dir, { recursive: true });
    const specFile = join(dir, 'repo-spec.json');
    const raw = JSON.parse(await readFile(specFile, 'utf8')) as Record<string, unknown>;
    await writeFile(
      specFile,
      JSON.stringify({ ...raw, ...opts.spec, packagemanager: opts.packagemanager }, null, 2) + '\n',
    );
    for (const f of opts.without ?? []) await rm(join(dir, f));
    await writeFile(
      join(dir, 'offline.repo'),
      renderRepoFile('offline', 'isobuild offline test repository', opts.baseurl, opts.gpgcheck ?? false),
    );
    for (const [id, baseurl] of Object.entries(opts.extraRepos ?? {}))
      await writeFile(
        join(dir, `${id}.repo`),
        renderRepoFile(id, `isobuild test repository ${id}`, baseurl, false),
      );
    if (opts.gpgKey) await cp(opts.gpgKey, join(dir, 'RPM-GPG-KEY-isobuild-test'));
    const loaded = await loadRepoFolder(dir);
    if (!loaded.spec)
      throw new Error(`fixture repo does not load:\n${loaded.errors.map(formatDiagnostic).join('\n')}`);
    return { dir, spec: loaded.spec, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * The options that make the sample a root of busybox alone (with the filesystem tree and the
 * kernel): only `base` packages, and none of the bash hooks (init.sh, staging.sh) it cannot run.
 */
export function busyboxRootOptions(
  base = 'filesystem busybox linux',
): Pick<FixtureOptions, 'spec' | 'without'> {
  return {
    spec: { packages: { base, bootstrap: '', appliance: '' }, packages_script_staging: undefined },
    without: ['init.sh', 'staging.sh'],
  };
}
