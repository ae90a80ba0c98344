import { chmod, copyFile, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildError } from '../../src/errors.js';
import { run } from '../../src/exec/run.js';
import { resolveBootTarget } from '../../src/image/qemu.js';
import { runInVm } from '../../src/image/run-vm.js';
import { readDriversArray } from '../../src/spec/drivers-array.js';
import { cloudKernel, debianPackageFiles, makeBootstrapImage, type CloudKernel } from './boot-fixtures.js';

/**
 * VIC's own photon-2.0 and centos-6.9 init.sh, unchanged, on fixture roots laid out the way those
 * distributions are (the files their install functions copy, at the paths they copy them from),
 * made of the build host's binaries: the real drivers and tether stages (the functions run in
 * the sizing sandbox), then a real boot running VIC's README checks.
 *
 * The host's iptables stands in for Photon's and CentOS's, and looks for its extensions where
 * Debian keeps them; VIC's functions copy them to /lib64/xtables, so the boot says where with
 * XTABLES_LIBDIR on the kernel command line (the kernel hands it to the init as environment).
 */
const REPOS = fileURLToPath(new URL('../../repos/', import.meta.url));
const HOST_LIB = '/lib/x86_64-linux-gnu';
const BOOT_MS = 300_000;
const JEST_MS = 2 * BOOT_MS;
const CHECK = `cut -d" " -f1 /proc/modules; ps; /.tether/bin/iptables-wrapper -L -v`;

/** The libraries VIC's install-iptables globs for (lib{m.*,m-*,gcc_s*,ip*tc*,xtables*,dl*,c.so*,c-*}). */
const IPTABLES_LIBS = ['libm.so.6', 'libgcc_s.so.1', 'libip4tc.so.2', 'libip6tc.so.2', 'libxtables.so.12'];
const GLIBC_LIBS = ['libc.so.6', 'libdl.so.2', 'libtinfo.so.6'];

async function put(root: string, from: string, to: string, mode = 0o755): Promise<void> {
  await mkdir(join(root, to, '..'), { recursive: true });
  await copyFile(from, join(root, to));
  await chmod(join(root, to), mode);
}

/**
 * `libdir` holds every library (the other of lib/lib64 links to it); bash and the functions'
 * tools come from the init layer's busybox (Photon's toybox, CentOS's coreutils are not needed).
 */
async function distroRoot(root: string, libdir: 'lib' | 'lib64', entropy: 'haveged' | 'rngd', debs: string) {
  await mkdir(join(root, libdir), { recursive: true });
  await symlink(libdir, join(root, libdir === 'lib' ? 'lib64' : 'lib'));
  await put(root, '/lib64/ld-linux-x86-64.so.2', `${libdir}/ld-linux-x86-64.so.2`);
  for (const lib of [...GLIBC_LIBS, ...IPTABLES_LIBS])
    await put(root, join(HOST_LIB, lib), `${libdir}/${lib}`);
  // Old glibcs ship libm-<version>.so and libc-<version>.so, which VIC's globs also name.
  await put(root, join(HOST_LIB, 'libm.so.6'), `${libdir}/libm-2.26.so`);
  await put(root, join(HOST_LIB, 'libc.so.6'), `${libdir}/libc-2.26.so`);
  await put(root, '/bin/bash', 'bin/bash');
  await put(root, '/usr/sbin/xtables-legacy-multi', 'sbin/iptables');
  await cp(join(HOST_LIB, 'xtables'), join(root, libdir, 'xtables'), { recursive: true });
  await mkdir(join(root, 'usr/lib/iptables'), { recursive: true });
  await writeFile(join(root, 'usr/lib/iptables/README'), 'iptables data\n');
  if (entropy === 'haveged') {
    await put(root, join(debs, 'usr/sbin/haveged'), 'sbin/haveged');
    await put(root, join(debs, `usr/lib/x86_64-linux-gnu/libhavege.so.2`), `${libdir}/libhavege.so.2`);
  } else {
    // CentOS's rngd: any program the tether can start from entropy.txt.
    await put(root, '/usr/bin/sleep', 'sbin/rngd');
  }
}

const CASES = {
  'photon-2.0': { libdir: 'lib', entropy: 'haveged' },
  'centos-6.9': { libdir: 'lib64', entropy: 'rngd' },
} as const;

describe("VIC's photon-2.0 and centos-6.9 init.sh, unchanged, on fixture roots", () => {
  let dir: string;
  let kernel: CloudKernel;
  const images: Record<string, Awaited<ReturnType<typeof makeBootstrapImage>>> = {};
  const consoles: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-vic-init-'));
    kernel = await cloudKernel();
    const debs = join(dir, 'debs');
    await debianPackageFiles('haveged', debs);
    await debianPackageFiles('libhavege2', debs);
    for (const [repo, c] of Object.entries(CASES)) {
      const rootfs = join(dir, repo, 'rootfs');
      await distroRoot(rootfs, c.libdir, c.entropy, debs);
      await cp(kernel.modules, join(rootfs, 'lib/modules', kernel.version), { recursive: true });
      await run('depmod', ['-b', rootfs, kernel.version]);
      const initSh = join(REPOS, repo, 'init.sh');
      images[repo] = await makeBootstrapImage({
        dir: join(dir, repo),
        rootfs,
        kernel,
        drivers: true,
        spec: {
          hooks: { init: initSh },
          // Photon 2's 4.x kernel had nf_nat_redirect; 5.x folded it into nf_nat (the stand-in is 6.1).
          drivers: {
            common: true,
            repo: readDriversArray(await readFile(initSh, 'utf8')).drivers.filter(
              (d) => d !== 'nf_nat_redirect',
            ),
            spec: [],
          },
          cmdline: 'XTABLES_LIBDIR=/lib64/xtables',
        },
      });
    }
    await Promise.all(
      Object.keys(CASES).map(async (repo) => {
        const lines: string[] = [];
        await runInVm({
          vm: {
            target: await resolveBootTarget(images[repo]!.folder),
            uefi: false,
            diskInterface: 'virtio',
            memoryMb: 768,
            accel: 'tcg',
          },
          argv: ['sh', '-c', CHECK],
          timeoutMs: BOOT_MS,
          onOutput: () => {},
          onConsole: (l) => lines.push(l),
        }).catch(() => undefined);
        consoles[repo] = lines.join('\n');
      }),
    );
  }, JEST_MS);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(Object.keys(CASES))('%s: both install functions ran in the sizing sandbox', (repo) => {
    const log = images[repo]!.logger.lines.map((l) => l.msg).join('\n');
    expect(log).toContain('init.sh runs install-iptables, install-entropy');
    expect(images[repo]!.meta.tetherSizeMiB).toBeGreaterThan(8);
  });

  it("photon-2.0: the second `ln -s /lib64 $1/lib` fails inside a function that succeeds: a warning, as VIC's init ignored it", () => {
    const warnings = images['photon-2.0']!.logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warnings.join('\n')).toMatch(/install-entropy: a command failed .*ln -s \/lib64/);
  });

  it.each(Object.keys(CASES))("%s: boots, loads VIC's drivers and sets VIC's firewall", (repo) => {
    const out = consoles[repo]!;
    if (!out.includes('ISOBUILD-EXIT 0')) console.log(`${repo} console:\n${out.slice(-5000)}`);
    expect(out).toMatch(/ISOBUILD-BEGIN[\s\S]*ISOBUILD-EXIT 0/);
    expect(out).toMatch(/^iptable_filter\r?$/m);
    expect(out).toMatch(/Chain INPUT \(policy DROP/);
    expect(out).toMatch(/Chain VIC \(2 references\)/);
    expect(out).not.toMatch(/warning: install-(iptables|entropy) .* failed/);
  });

  it('photon-2.0: runs the entropy daemon from entropy.txt (VIC check: ps)', () => {
    expect(consoles['photon-2.0']).toContain(
      '/.tether/lib64/ld-linux-x86-64.so.2 --library-path /.tether/lib64 /.tether/bin/haveged -w 1024 -v 1 -F',
    );
  });

  it('a function that returns non-zero fails the build, naming it and its output', async () => {
    const rootfs = join(dir, 'broken', 'rootfs');
    await distroRoot(rootfs, 'lib64', 'rngd', join(dir, 'debs'));
    await mkdir(join(rootfs, 'lib/modules', kernel.version), { recursive: true });
    const initSh = join(dir, 'broken', 'init.sh');
    await writeFile(
      initSh,
      'install-entropy () {\n    echo copying the entropy daemon\n    cp /sbin/no-such-daemon "$1/bin/"\n}\n',
    );
    const err = (await makeBootstrapImage({
      dir: join(dir, 'broken'),
      rootfs,
      kernel,
      spec: { hooks: { init: initSh } },
    }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(BuildError);
    expect(err.message).toMatch(
      new RegExp(
        `^stage tether: install-entropy /tmp/isobuild-tether-\\w+ \\(from ${initSh}\\) failed with status 1`,
      ),
    );
    expect(err.message).toContain('copying the entropy daemon');
    expect(err.message).toContain('no-such-daemon');
  });
});
