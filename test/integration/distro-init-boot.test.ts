import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCliBuilt, ROOT, runCli, type CliResult } from '../unit/cli/run-cli.js';

/**
 * A bootstrap whose spec names the distribution's own init boots that init, which starts the
 * bootstrap init (and so the tether) as a service: systemd through tether.service and vic.target,
 * SysV init through an rc script and an inittab `once` line (docs/init.md). Two variants of
 * repos/debian-12, as small as the init needs (the base cut to what init.sh's install functions
 * copy; no udev: the bootstrap init loads its drivers and finds the disk with its own busybox),
 * built through the real CLI with the host's apt mirror into a fresh cache and booted in qemu
 * (TCG, BIOS). The two builds, and then the two boots, run at once: each repo takes its own lock.
 */
const JEST_MS = 900_000;

interface Variant {
  name: string;
  init: string;
  bootstrap: string;
  /** The tether stage's log line naming the wiring. */
  wiring: RegExp;
  /**
   * What the command below prints before the kernel version: PID 1's name in the container and
   * systemd's "booted with systemd" folder if there is one. systemd hands PID 1 to the tether
   * with `systemctl switch-root` and moves /run along; SysV init stays PID 1 and the tether runs
   * chrooted.
   */
  shows: string;
}

const VARIANTS: Variant[] = [
  {
    name: 'debian-12-systemd',
    init: '/lib/systemd/systemd',
    bootstrap: 'systemd',
    wiring:
      /tether: \/init -> \/lib\/systemd\/systemd \(systemd\), which starts \/usr\/lib\/isobuild\/init\/bootstrap: .*tether\.service.*vic\.target/,
    shows: 'tether\n/run/systemd/system\n',
  },
  {
    name: 'debian-12-sysv',
    init: '/sbin/init',
    bootstrap: 'sysvinit-core',
    wiring:
      /tether: \/init -> \/sbin\/init \(sysv\), which starts \/usr\/lib\/isobuild\/init\/bootstrap: \/etc\/init\.d\/tether, \/etc\/inittab \(tt:2345:once:\/etc\/init\.d\/tether start\)/,
    shows: 'init\n',
  },
];

let dir: string;
let env: NodeJS.ProcessEnv;
const iso = (v: Variant) => join(dir, 'bin', `${v.name}.iso`);
const cli = (args: string[]): Promise<CliResult> => runCli(args, dir, env);

/** repos/debian-12 under another name, booting `init` with `bootstrap` as its bootstrap packages. */
async function writeVariant(v: Variant): Promise<void> {
  const repo = join(dir, 'repos', v.name);
  await cp(join(ROOT, 'repos', 'debian-12'), repo, { recursive: true });
  const spec = JSON.parse(await readFile(join(repo, 'repo-spec.json'), 'utf8')) as Record<string, unknown>;
  delete spec.$schema;
  delete spec.packages_script_staging;
  Object.assign(spec, {
    name: v.name,
    init: v.init,
    // bash runs init.sh; kmod, iptables and haveged are what its functions and drivers need.
    packages: { base: 'bash kmod iptables haveged', bootstrap: v.bootstrap },
  });
  await writeFile(join(repo, 'repo-spec.json'), `${JSON.stringify(spec, null, 2)}\n`);
}

beforeAll(async () => {
  await checkCliBuilt();
  dir = await mkdtemp(join(tmpdir(), 'isobuild-distro-init-'));
  env = { ISOBUILD_CACHE: join(dir, 'cache'), ISOBUILD_REPOS: join(dir, 'repos') };
  for (const v of VARIANTS) await writeVariant(v);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a bootstrap booting the distribution’s own init', () => {
  const kernels: Record<string, string> = {};

  test(
    'builds: the root keeps its init and starts the bootstrap init as a service',
    async () => {
      const builds = await Promise.all(
        VARIANTS.map((v) => cli(['build', v.name, '--target', 'bootstrap', '--output', iso(v)])),
      );
      for (const [i, v] of VARIANTS.entries()) {
        const b = builds[i]!;
        expect({ variant: v.name, code: b.code, tail: b.stderr.slice(-2000) }).toMatchObject({ code: 0 });
        expect(b.stderr).toMatch(v.wiring);
        const manifest = JSON.parse(await readFile(`${iso(v)}.manifest.json`, 'utf8')) as {
          kernel: { version: string };
        };
        kernels[v.name] = manifest.kernel.version;
      }
    },
    JEST_MS,
  );

  test(
    'isobuild run (BIOS) runs the command in the container under that init and passes its status on',
    async () => {
      const runs = await Promise.all(
        VARIANTS.map((v) =>
          cli([
            'run',
            iso(v),
            // The SysV boot takes 1-2 min on a busy 2-core host (docs/init.md); the default is 300 s.
            '--timeout',
            '600',
            '--',
            'sh',
            '-c',
            'cat /proc/1/comm; ls -d /run/systemd/system 2>/dev/null; uname -r; exit 3',
          ]),
        ),
      );
      for (const [i, v] of VARIANTS.entries()) {
        const r = runs[i]!;
        expect({
          variant: v.name,
          code: r.code,
          stdout: r.stdout,
          tail: r.stderr.slice(-2000),
        }).toMatchObject({
          code: 3,
          stdout: `${v.shows}${kernels[v.name]}\n`,
        });
      }
    },
    JEST_MS,
  );
});
