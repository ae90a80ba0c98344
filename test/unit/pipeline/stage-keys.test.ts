// The package managers a spec is checked against: src/pm/index.ts hands them to src/spec/.
import '../../../src/pm/index.js';
import { appendFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDiagnostic } from '../../../src/errors.js';
import { makePlan } from '../../../src/pipeline/plan.js';
import { linkStages } from '../../../src/pipeline/stage-keys.js';
import type { StageName, Target } from '../../../src/stage/types.js';
import { loadRepoFolder } from '../../../src/spec/load.js';
import { FIXTURE_REPO } from '../../helpers/rpm-repo/fixture-repo.js';

/*
 * The key decides whether a stage rebuilds, so this computes keys only (no builds): each spec
 * field and each repo file of the sample repos is changed in turn, in a temp copy of the repo
 * folder, and the first stage whose key changes is compared with the table. Every later stage
 * rebuilds through its parent key; no earlier one may. Tool versions are real (each binary is
 * asked once per process: src/exec/tool-version.ts), and the same before and after a change.
 */

const OPTIONS = { cacheRoot: '/c', outputDir: '/o', noCache: false, lockTimeout: 0, sourceDateEpoch: 0 };
const TARGETS = ['bootstrap', 'appliance', 'firecracker'] as const satisfies readonly Target[];
/** First stage that rebuilds for [bootstrap, appliance, firecracker]; null: none does. */
type Expect = readonly [StageName | null, StageName | null, StageName | null];
type Raw = Record<string, unknown>;
/** Edits the spec (returns the new document) or a file of the repo folder. */
type Change = (raw: Raw, dir: string) => Promise<Raw | void> | Raw | void;

interface Row {
  name: string;
  change: Change;
  /** The same for both repos, or per package manager family. */
  expect: Expect | { apt: Expect | 'n/a'; rpm: Expect | 'n/a' };
  /** Applied to the baseline and the changed copy alike. */
  start?: Change;
}

const ALL = (s: StageName | null): Expect => [s, s, s];
const spec = (edit: (r: Raw) => Raw): Change => edit;
const appendTo =
  (file: string): Change =>
  (_r, d) =>
    appendFile(join(d, file), '\n# changed\n');
const packages = (over: Raw) => spec((r) => ({ ...r, packages: { ...(r.packages as Raw), ...over } }));
const script = (over: Raw) =>
  spec((r) => ({ ...r, packages_script_staging: { ...(r.packages_script_staging as Raw), ...over } }));
const WORKLOADS = { workloads: [{ argv: ['/bin/true'] }] };

const ROWS: Row[] = [
  {
    name: 'kernel',
    change: spec((r) => ({ ...r, kernel: `${r.kernel as string}-other` })),
    expect: ALL('iso-base'),
  },
  // The bootstrap init is written by tether; minimise keeps the same files for any init of
  // isobuild's own (its key holds the init's requirements, not its path). A microVM boots its own init.
  {
    name: 'init (another path)',
    change: spec((r) => ({ ...r, init: '/sbin/myinit' })),
    expect: ['tether', null, null],
  },
  // A distro init keeps the whole root: minimise leaves the bootstrap plan, tether's parent changes.
  {
    name: 'init (systemd)',
    change: spec((r) => ({ ...r, init: '/lib/systemd/systemd' })),
    expect: ['tether', null, null],
  },
  // With traced minimisation, minimise stays and keeps the init's files (issue 8's stale-cache bug).
  {
    name: 'init (systemd), with minimise workloads',
    start: spec((r) => ({ ...r, minimise: WORKLOADS })),
    change: spec((r) => ({ ...r, init: '/lib/systemd/systemd' })),
    expect: ['minimise', null, 'minimise'],
  },
  { name: 'minimise', change: spec((r) => ({ ...r, minimise: WORKLOADS })), expect: ALL('minimise') },
  { name: 'release', change: spec((r) => ({ ...r, release: '99' })), expect: ALL('iso-base') },
  { name: 'packages.base', change: packages({ base: 'bash busybox' }), expect: ALL('iso-base') },
  {
    name: 'packages.bootstrap',
    change: packages({ bootstrap: 'less' }),
    expect: ['staging', null, 'staging'],
  },
  { name: 'packages.appliance', change: packages({ appliance: 'less' }), expect: [null, 'staging', null] },
  {
    name: 'packages_script_staging.bootstrap',
    change: script({ bootstrap: 'install vim' }),
    expect: ['staging', null, 'staging'],
  },
  {
    name: 'packages_script_staging.appliance',
    change: script({ appliance: 'install vim' }),
    expect: [null, 'staging', null],
  },
  {
    name: 'apt.variant',
    change: spec((r) => ({ ...r, apt: { variant: 'minbase' } })),
    expect: { apt: ALL('iso-base'), rpm: ALL(null) },
  },
  {
    name: 'apt.components',
    change: spec((r) => ({ ...r, apt: { components: ['main', 'contrib'] } })),
    expect: { apt: ALL('iso-base'), rpm: ALL(null) },
  },
  {
    name: 'apt.sources',
    change: async (r, d) => {
      await writeFile(
        join(d, 'my.sources'),
        'Types: deb\nURIs: http://127.0.0.1/debian\nSuites: bookworm\nComponents: main\n',
      );
      return { ...r, apt: { sources: 'my.sources' } };
    },
    expect: { apt: ALL('iso-base'), rpm: ALL(null) },
  },
  // RPM adapters always install the kernel package (no download-only path).
  {
    name: 'kernel_install',
    change: spec((r) => ({ ...r, kernel_install: 'package' })),
    expect: { apt: ALL('iso-base'), rpm: ALL(null) },
  },
  {
    name: 'bootstrap_initrd',
    change: spec((r) => ({ ...r, bootstrap_initrd: 'full' })),
    expect: ['tether', null, null],
  },
  { name: 'docs', change: spec((r) => ({ ...r, docs: true })), expect: ALL('iso-base') },
  { name: 'locales', change: spec((r) => ({ ...r, locales: ['de'] })), expect: ALL('iso-base') },
  // How fresh the package lists must be, not what is installed: no key holds it.
  {
    name: 'package_lists_max_age',
    change: spec((r) => ({ ...r, package_lists_max_age: '2d' })),
    expect: ALL(null),
  },
  {
    name: 'drivers',
    change: spec((r) => ({ ...r, drivers: [...((r.drivers as string[] | undefined) ?? []), 'e1000'] })),
    expect: ALL('drivers'),
  },
  {
    name: 'modules',
    change: spec((r) => ({ ...r, modules: (r.modules ?? 'all') === 'all' ? 'drivers' : 'all' })),
    expect: ALL('drivers'),
  },
  {
    name: 'compression',
    change: spec((r) => ({ ...r, compression: 'gzip' })),
    expect: ['initrd', 'initrd', 'disk'],
  },
  { name: 'boot.uefi', change: spec((r) => ({ ...r, boot: { uefi: false } })), expect: ['iso', 'iso', null] },
  {
    name: 'cmdline',
    change: spec((r) => ({ ...r, cmdline: 'quiet' })),
    expect: ['initrd', 'initrd', 'disk'],
  },
  // The bootstrap layer follows the profile's tether names and log device; an appliance's and a
  // microVM's init layers do not, but their kernel command lines (initrd, vm-config.json) do.
  { name: 'profile', change: spec((r) => ({ ...r, profile: 'vic' })), expect: ['tether', 'initrd', 'disk'] },
  { name: 'version', change: spec((r) => ({ ...r, version: '9.9' })), expect: ['iso', 'iso', null] },
  {
    name: 'tether',
    change: async (r, d) => {
      await writeFile(join(d, 'tether-linux'), 'a tether\n');
      return { ...r, tether: 'tether-linux' };
    },
    // Only a bootstrap ships a tether: an appliance boots systemd, a microVM its own init.
    expect: ['tether', null, null],
  },
  // The first stage that runs a hook: debian-12's is staging.sh, the RPM sample's base.sh.
  {
    name: 'hooks.sandbox',
    change: spec((r) => ({ ...r, hooks: { sandbox: false } })),
    expect: { apt: ALL('staging'), rpm: ALL('iso-base') },
  },
  // Only the app target reads it.
  { name: 'app', change: spec((r) => ({ ...r, app: { run: ['/bin/true'] } })), expect: ALL(null) },
  { name: 'microvm', change: spec((r) => ({ ...r, microvm: { vcpus: 4 } })), expect: [null, null, 'disk'] },
  // A small bootstrap traces init.sh's install functions to keep what they copy at boot.
  // Only a bootstrap runs it (the drivers array is read at load: a comment changes nothing else).
  { name: 'init.sh', change: appendTo('init.sh'), expect: ['minimise', null, null] },
  { name: 'staging.sh', change: appendTo('staging.sh'), expect: ALL('staging') },
  { name: 'base.sh', change: appendTo('base.sh'), expect: ALL('iso-base') },
  { name: '*.repo', change: appendTo('offline.repo'), expect: { apt: 'n/a', rpm: ALL('iso-base') } },
  {
    name: 'a GPG key',
    change: (_r, d) => writeFile(join(d, 'RPM-GPG-KEY-other'), 'key\n'),
    expect: { apt: 'n/a', rpm: ALL('iso-base') },
  },
  {
    name: 'packagemanager',
    change: spec((r) => ({ ...r, packagemanager: 'dnf' })),
    expect: { apt: 'n/a', rpm: ALL('iso-base') },
  },
];

const REPOS = [
  { name: 'debian-12', family: 'apt', dir: join('repos', 'debian-12') },
  { name: 'offline-1.0', family: 'rpm', dir: FIXTURE_REPO },
] as const;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'isobuild-stage-keys-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** A copy of the sample repo folder (the RPM sample gets the .repo file its tests write). */
async function copyRepo(repo: (typeof REPOS)[number], where: string, changes: Change[]): Promise<string> {
  const dir = join(tmp, where, repo.name);
  await rm(join(tmp, where), { recursive: true, force: true });
  await cp(repo.dir, dir, { recursive: true });
  if (repo.family === 'rpm')
    await writeFile(
      join(dir, 'offline.repo'),
      '[offline]\nname=offline\nbaseurl=file:///nonexistent\nenabled=1\ngpgcheck=0\n',
    );
  const specFile = join(dir, 'repo-spec.json');
  for (const change of changes) {
    const raw = JSON.parse(await readFile(specFile, 'utf8')) as Raw;
    const next = await change(raw, dir);
    if (next) await writeFile(specFile, JSON.stringify(next, null, 2));
  }
  return dir;
}

async function keysOf(dir: string, target: Target): Promise<[StageName, string][]> {
  const loaded = await loadRepoFolder(dir);
  if (!loaded.spec) throw new Error(loaded.errors.map(formatDiagnostic).join('\n'));
  const { links } = await linkStages(makePlan(loaded.spec, target, OPTIONS));
  return links.map((l) => [l.stage, l.key]);
}

const cases = REPOS.flatMap((repo) =>
  ROWS.flatMap((row) => {
    const expect = Array.isArray(row.expect)
      ? (row.expect as Expect)
      : (row.expect as Record<string, Expect | 'n/a'>)[repo.family]!;
    return expect === 'n/a' ? [] : [{ repo, row, firstRebuilt: expect, label: `${repo.name}: ${row.name}` }];
  }),
);

/** The unchanged repo's keys per target, computed once per repo and start. */
const baselines = new Map<string, Promise<Map<StageName, string>[]>>();
function baselineOf(repo: (typeof REPOS)[number], row: Row): Promise<Map<StageName, string>[]> {
  const id = `${repo.name} ${row.start ? row.name : ''}`;
  let found = baselines.get(id);
  if (!found) {
    found = copyRepo(repo, `before ${baselines.size}`, row.start ? [row.start] : []).then((dir) =>
      Promise.all(TARGETS.map(async (t) => new Map(await keysOf(dir, t)))),
    );
    baselines.set(id, found);
  }
  return found;
}

test.each(cases)('$label → first stage that rebuilds per target', async ({ repo, row, firstRebuilt }) => {
  const before = await baselineOf(repo, row);
  const after = await copyRepo(repo, 'after', [...(row.start ? [row.start] : []), row.change]);
  const seen: (StageName | null)[] = [];
  for (const [i, target] of TARGETS.entries()) {
    const old = before[i]!;
    const now = await keysOf(after, target);
    const first = now.findIndex(([stage, key]) => old.get(stage) !== key);
    seen.push(first < 0 ? null : now[first]![0]);
    // Keys chain: from the first stage that rebuilds, every later one rebuilds too.
    if (first >= 0) for (const [stage, key] of now.slice(first)) expect(old.get(stage)).not.toBe(key);
  }
  expect(seen).toEqual(firstRebuilt);
});
