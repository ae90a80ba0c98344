import { execa } from 'execa';
import { PACKAGE_MANAGERS } from '../../../src/pm/index.js';
import type { PackageManager } from '../../../src/pm/types.js';
import { describePlan, makePlan } from '../../../src/pipeline/plan.js';
import { defaultBuildOptions } from '../../../src/pipeline/build-options.js';
import { describeSpec } from '../../../src/spec/describe-spec.js';
import { loadRepoFolder } from '../../../src/spec/load.js';
import { finding } from '../../../src/spec/rule.js';
import { formatDiagnostic } from '../../../src/errors.js';
import { ROOT } from '../cli/run-cli.js';
import { makeRepo, specJson, type RepoFixture } from '../spec/repo-fixture.js';

/**
 * Where a manager's name may be written in src/ besides src/pm/ and the schema's generated
 * types, each with why it is not a manager there.
 */
const NOT_A_MANAGER: Record<string, { names: readonly string[]; why: string }> = {
  'src/exec/host-tools.ts': {
    names: ['apt', 'dnf', 'yum', 'tdnf'],
    why: 'the Debian packages of host tools',
  },
  'src/oci/image-ref.ts': { names: ['oci'], why: 'the oci: image transport (an OCI layout folder)' },
  'src/oci/write-image.ts': { names: ['oci'], why: 'the oci: image transport (an OCI layout folder)' },
};

describe('package-manager knowledge stays in src/pm/', () => {
  test("grep finds a manager's name in quotes only in src/pm/, the schema's generated types, and the listed non-managers", async () => {
    const res = await execa(
      'grep',
      ['-rn', "'apt'\\|'yum'\\|'dnf'\\|'tdnf'\\|'oci'", 'src', '--include=*.ts'],
      { cwd: ROOT, reject: false },
    );
    const strays = res.stdout
      .split('\n')
      .filter(Boolean)
      .filter((line) => {
        const file = line.slice(0, line.indexOf(':'));
        if (file.startsWith('src/pm/') || /^src\/spec\/[^/]+\.generated\.ts$/.test(file)) return false;
        const named = [...line.matchAll(/'(apt|yum|dnf|tdnf|oci)'/g)].map((m) => m[1]!);
        const allowed = NOT_A_MANAGER[file]?.names ?? [];
        return named.some((n) => !allowed.includes(n));
      });
    expect(strays).toEqual([]);
    // grep itself ran and found what src/pm/ holds: a broken pattern cannot pass.
    expect(res.stdout).toContain('src/pm/apt.ts:');
  });
});

/**
 * A made-up adapter in the table's tdnf entry: validation, the release, plan's spec rows and its
 * stage commands all come from it, with no other file changed. Mocked on purpose: the adapter is
 * the thing under test's input, and it never runs a package manager.
 */
describe('a made-up adapter in the adapters table', () => {
  const real = PACKAGE_MANAGERS.tdnf;
  const fixtures: RepoFixture[] = [];
  afterEach(async () => {
    PACKAGE_MANAGERS.tdnf = real;
    await Promise.all(fixtures.splice(0).map((f) => f.remove()));
  });

  const madeUp: PackageManager = {
    name: 'tdnf',
    packageName: { pattern: /^[a-z]+$/, syntax: 'lower-case letters' },
    checkScript: (args) => (args[0] === 'zap' ? undefined : `"${args[0]}" is not zap`),
    releaseFromName: () => undefined,
    resolveRelease: async (spec) => ({ release: `made-up-${spec.name}`, from: 'the made-up adapter' }),
    specRules: [
      {
        name: 'made-up-rule',
        check: (input) =>
          input.raw.packagemanager === 'tdnf'
            ? [finding(input, 'made-up-rule', '/packagemanager', 'the made-up adapter looked', 'warning')]
            : [],
      },
    ],
    describeSpec: () => [
      { section: 'distribution', label: 'made-up source', value: 'nowhere', origin: 'default' },
    ],
    specFields: [],
    version: 1,
    purlType: 'rpm',
    tools: () => [],
    describe: (_spec, op, args) => [`made-up ${op} ${args.join(' ')}`.trimEnd()],
    sources: async () => ({ files: [], toolVersions: [] }),
    setup: async () => undefined,
    install: async () => undefined,
    runScript: async () => undefined,
    clean: async () => undefined,
    listInstalled: async () => undefined,
    listPackageFiles: async () => undefined,
    querySources: async () => ({ packages: [] }) as never,
  };

  async function load(overrides: Record<string, unknown>) {
    const f = await makeRepo('mine', {
      'repo-spec.json': specJson({ name: 'mine', packagemanager: 'tdnf', kernel: 'linux', ...overrides }),
    });
    fixtures.push(f);
    return loadRepoFolder(f.dir);
  }

  test('its rules, package names and script words decide validation', async () => {
    PACKAGE_MANAGERS.tdnf = madeUp;
    const bad = await load({
      packages: { base: 'bash Busybox' },
      packages_script_staging: { bootstrap: 'erase toybox' },
    });
    const messages = bad.errors.map(formatDiagnostic).join('\n');
    expect(messages).toContain('"Busybox" is not a valid tdnf package name (lower-case letters)');
    expect(messages).toContain('"erase" is not zap (packagemanager tdnf)');
    const good = await load({ packages: { base: 'bash busybox' } });
    expect(good.errors).toEqual([]);
    expect(good.warnings.map((w) => `${w.rule}: ${w.message}`)).toContain(
      'made-up-rule: the made-up adapter looked',
    );
  });

  test('its release, its rows in plan and summary, and its commands in the plan', async () => {
    PACKAGE_MANAGERS.tdnf = madeUp;
    const { spec, errors } = await load({ packages: { base: 'bash' } });
    expect(errors).toEqual([]);
    expect(spec).toMatchObject({ release: 'made-up-mine', releaseFrom: 'the made-up adapter' });
    expect(describeSpec(spec!).map((r) => `${r.label}: ${r.value}`)).toEqual(
      expect.arrayContaining(['release: made-up-mine (the made-up adapter)', 'made-up source: nowhere']),
    );
    const plan = describePlan(makePlan(spec!, 'bootstrap', defaultBuildOptions()));
    const isoBase = plan.stages.find((s) => s.name === 'iso-base')!;
    expect(isoBase.commands).toEqual(expect.arrayContaining(['made-up setup bash', 'made-up install linux']));
  });
});
