import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../../src/exec/run.js';
import { SNAKEOIL_CERT, SNAKEOIL_KEY } from '../../src/image/secure-boot-firmware.js';
import { stageStatuses } from '../helpers/stage-statuses.js';
import { sharedStageCache } from '../helpers/test-cache.js';

/**
 * The bootstrap ISO of debian-12 with its kernel built from Debian's linux-source-6.1 with the
 * `iso` preset and the drivers array built in (docs/kernel.md, "Sample repos"), through the real
 * CLI: built once, then booted under BIOS and UEFI running VIC's checks (drivers present, the
 * firewall, the tether running the entropy daemon and passing the exit status on). The stage
 * cache is the test cache's shared one (kept trees and ccache with it), so only the first run
 * builds the kernel cold.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const BUILD_MS = 120 * 60_000;
const BOOT_MS = 600_000;
const REPO = 'debian-12-iso-kernel';
const KERNEL = { source: 'linux-source-6.1', config: 'iso', builtin: 'drivers' };
const IPT = '/.tether/bin/iptables-wrapper';
/**
 * VIC's checks (README: cut -d" " -f1 /proc/modules; ps; iptables -L -v), and where the drivers
 * are without modules: the PCI drivers registered, the nat table (iptable_nat, nf_nat) and a rule
 * with the state match and REJECT (xt_state, ipt_REJECT, conntrack) taken by the kernel.
 */
const CHECKS = [
  // The preset has no module support: no /proc/modules at all, every driver is built in.
  'echo modules:; if [ -e /proc/modules ]; then cut -d" " -f1 /proc/modules; else echo no-module-support; fi',
  'echo pci-drivers:; ls /sys/bus/pci/drivers',
  `${IPT} -t nat -L -n >/dev/null`,
  `${IPT} -A INPUT -m state --state INVALID -j REJECT`,
  'echo tables:; cat /proc/net/ip_tables_names',
  'echo kernel: $(uname -r)',
  'ps',
  `${IPT} -L -v`,
].join('; ');

let dir: string;
let env: Record<string, string>;
let built: RunResult;
const iso = () => join(dir, 'bin', 'bootstrap.iso');
const cli = (args: string[], timeoutMs = BOOT_MS, allowFailure = false): Promise<RunResult> =>
  run('node', [CLI, ...args], { cwd: dir, env, timeoutMs, allowFailure, stage: 'iso preset test' });

/**
 * repos/debian-12 as REPO under `reposDir`, building the iso kernel, with `edit` applied to its
 * spec. Its own name: the shared stage cache's build lock is per repo, and another test file
 * builds debian-12 in it (the entries of equal keys are shared all the same: iso-base, the kernel).
 */
async function copyDebian12(reposDir: string, edit: (spec: Record<string, unknown>) => void = () => {}) {
  const repo = join(reposDir, REPO);
  await cp(join(ROOT, 'repos', 'debian-12'), repo, { recursive: true });
  const specFile = join(repo, 'repo-spec.json');
  const spec = JSON.parse(await readFile(specFile, 'utf8')) as Record<string, unknown>;
  spec.name = REPO;
  spec.kernel = KERNEL;
  edit(spec);
  await writeFile(specFile, JSON.stringify(spec, null, 4) + '\n');
  return specFile;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-iso-preset-'));
  await copyDebian12(join(dir, 'repos'));
  env = { ISOBUILD_CACHE: sharedStageCache(), ISOBUILD_REPOS: join(dir, 'repos'), NO_COLOR: '1' };
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
  built = await cli(['build', REPO, '--target', 'bootstrap', '--output', iso()], BUILD_MS);
}, BUILD_MS + 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the kernel stage builds the drivers in (no modules) and the initrd takes the fastest compression the kernel unpacks', () => {
  expect(Object.keys(stageStatuses(built.stderr))).toEqual([
    'iso-base',
    'kernel',
    'staging',
    'drivers',
    'minimise',
    'tether',
    'initrd',
    'iso',
  ]);
  // The stage logs its own summary when it runs; a warm shared cache has the entry instead.
  if (stageStatuses(built.stderr).kernel === 'built')
    expect(built.stderr).toMatch(/kernel 6\.1\.\d+: bzImage [\d.]+ \w+, \d+ drivers built in/);
  // Every requested driver is built in: nothing for the init to load, no warning for a missing one.
  expect(built.stderr).not.toMatch(/has no driver/);
});

/** The lines after `label:` up to the next label. */
function section(out: string, label: string): string[] {
  const lines = out.split('\n');
  const start = lines.indexOf(`${label}:`);
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^[a-z-]+:( |$)/.test(l));
  return rest.slice(0, end < 0 ? undefined : end).flatMap((l) => l.split(/\s+/).filter(Boolean));
}

test.each([
  ['BIOS', []],
  ['UEFI', ['--uefi']],
])(
  '%s: boots the built kernel; the drivers are built in, VIC’s firewall is set and the tether runs the entropy daemon',
  async (_firmware, flags) => {
    const res = await cli(['run', iso(), ...flags, '--', 'sh', '-c', CHECKS]);
    const out = res.stdout;
    // The built kernel (Debian's source: 6.1.<n>, no -cloud-amd64 suffix), with no module loaded.
    expect(out).toMatch(/^kernel: 6\.1\.\d+$/m);
    expect(section(out, 'modules')).toEqual(['no-module-support']);
    // The PCI drivers of the common list and init.sh, registered though built in.
    expect(section(out, 'pci-drivers')).toEqual(
      expect.arrayContaining(['ahci', 'ata_piix', 'virtio-pci', 'vmxnet3', 'vmw_pvscsi']),
    );
    expect(section(out, 'tables')).toEqual(expect.arrayContaining(['filter', 'nat']));
    expect(out).toMatch(/\/\.tether\/bin\/haveged -w 1024/);
    expect(out).toMatch(/Chain INPUT \(policy DROP/);
    expect(out).toMatch(/Chain VIC \(2 references\)/);
    expect(out).toMatch(
      /REJECT +all +-- +any +any +anywhere +anywhere +state INVALID reject-with icmp-port-unreachable/,
    );
  },
  BOOT_MS + 60_000,
);

test(
  'the tether passes the command’s exit status on',
  async () => {
    const failing = await cli(['run', iso(), '--', 'sh', '-c', 'exit 7'], BOOT_MS, true);
    expect(failing.exitCode).toBe(7);
  },
  BOOT_MS + 60_000,
);

test(
  'a misspelled driver of the spec stops the kernel stage before make, at the spec’s line, column and pointer',
  async () => {
    const repos = join(dir, 'misspelled');
    const specFile = await copyDebian12(repos, (spec) => {
      spec.drivers = ['virtio_net', 'vmw_pvscsy'];
    });
    const res = await run('node', [CLI, 'build', REPO, '--target', 'bootstrap'], {
      cwd: dir,
      env: { ...env, ISOBUILD_REPOS: repos },
      timeoutMs: BUILD_MS,
      allowFailure: true,
    });
    expect(res.exitCode).toBe(2);
    const text = await readFile(specFile, 'utf8');
    const before = text.slice(0, text.indexOf('"vmw_pvscsy"')).split('\n');
    const at = `${before.length}:${before.at(-1)!.length + 1}`;
    expect(res.stderr).toMatch(
      new RegExp(
        `repo-spec\\.json:${at} /drivers/1: driver "vmw_pvscsy": no Makefile of the kernel source builds a module of that name \\(did you mean "vmw_pvscsi"\\?\\)`,
      ),
    );
  },
  BUILD_MS,
);

test(
  'the built kernel boots through one’s own key: the ISO’s UKI signed with a db key (Debian’s snakeoil test key) under OVMF with Secure Boot enforced',
  async () => {
    const keys = join(dir, 'keys');
    await mkdir(keys, { recursive: true });
    // Debian ships the snakeoil key encrypted (passphrase "snakeoil"): isobuild takes a plain one.
    const key = join(keys, 'db.key');
    await run('openssl', ['pkey', '-in', SNAKEOIL_KEY, '-passin', 'pass:snakeoil', '-out', key]);
    const repos = join(dir, 'signed');
    await copyDebian12(repos, (spec) => {
      spec.secure_boot = { key: '$TEST_DB_KEY', cert: SNAKEOIL_CERT };
      spec.uki = true;
    });
    const signedEnv = { ...env, ISOBUILD_REPOS: repos, TEST_DB_KEY: key };
    const signedIso = join(dir, 'bin', 'signed.iso');
    // The kernel stage's key holds no key material: the kernel is the build above's, from the cache.
    await run('node', [CLI, 'build', REPO, '--target', 'bootstrap', '--output', signedIso], {
      cwd: dir,
      env: signedEnv,
      timeoutMs: BUILD_MS,
    });
    // Enforced: the firmware starts only what the enrolled db signed; the kernel says so in its log.
    const res = await run(
      'node',
      [
        CLI,
        'run',
        signedIso,
        '--secure-boot',
        'snakeoil',
        '--',
        'sh',
        '-c',
        'uname -r; dmesg | grep -i "secure boot"',
      ],
      { cwd: dir, env: signedEnv, timeoutMs: BOOT_MS },
    );
    expect(res.stdout).toMatch(/^6\.1\.\d+$/m);
    expect(res.stdout).toMatch(/Secure boot enabled/);
  },
  BUILD_MS,
);
