import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../../src/exec/run.js';
import { eventsOfType } from '../helpers/json-events.js';
import { expectStageStatuses, stageStatuses } from '../helpers/stage-statuses.js';

/**
 * The default repo through the real CLI, as the README tells a user to run it: build the
 * debian-12 root and ISOs with the host's apt mirror, export the staged root, rebuild from the
 * cache, and boot the ISOs in qemu (TCG) under BIOS and UEFI. Works on a copy of repos/debian-12
 * in a temp folder with its own cache.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');

let dir: string;
let repoDir: string;
let env: Record<string, string>;
const cli = (args: string[], timeoutMs = 900_000): Promise<RunResult> =>
  run('node', [CLI, ...args], { cwd: dir, env, timeoutMs, stage: 'debian-12 cli test' });

/** `plan REPO --explain --json`: each stage's cache status and reasons, as the next build would see them. */
async function explainStages(
  repo: string,
  target?: string,
): Promise<{ stage: string; status: string; reasons: string[] }[]> {
  const res = await cli(['--json', 'plan', repo, '--explain', ...(target ? ['--target', target] : [])]);
  const [plan] = eventsOfType(res.stdout, 'plan') as unknown as {
    cache: { stages: { stage: string; status: string; reasons: string[] }[] };
  }[];
  return plan!.cache.stages;
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-debian-12-'));
  repoDir = join(dir, 'repos', 'debian-12');
  await cp(join(ROOT, 'repos', 'debian-12'), repoDir, { recursive: true });
  env = { ISOBUILD_CACHE: join(dir, 'cache'), ISOBUILD_REPOS: join(dir, 'repos'), NO_COLOR: '1' };
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('debian-12 through the CLI', () => {
  let firstBuild: RunResult;
  const iso = () => join(dir, 'bin', 'bootstrap.iso');

  test('build --target bootstrap-staging --export gives a root with the base and bootstrap packages and modules.dep', async () => {
    const exported = join(dir, 'staged');
    await cli(['build', 'debian-12', '--target', 'bootstrap-staging', '--export', exported]);
    const listed = await run('chroot', [
      exported,
      'dpkg-query',
      '-W',
      '-f',
      '${Package} ${db:Status-Status}\n',
    ]);
    const installed = new Set(
      listed.stdout
        .split('\n')
        .filter((l) => l.endsWith(' installed'))
        .map((l) => l.split(' ')[0] ?? ''),
    );
    const spec = JSON.parse(await readFile(join(repoDir, 'repo-spec.json'), 'utf8')) as {
      packages: { base: string; bootstrap: string };
    };
    for (const pkg of `${spec.packages.base} ${spec.packages.bootstrap}`.split(/\s+/).filter(Boolean))
      expect(installed).toContain(pkg);
    // kernel_install: files: the kernel's files are unpacked and the kernel (with its meta package)
    // recorded as installed, its dependency tail not.
    expect([...installed].filter((p) => /^(linux-image-|udev$|initramfs-tools)/.test(p))).toEqual([
      expect.stringMatching(/^linux-image-\d.*-cloud-amd64$/),
      'linux-image-cloud-amd64',
    ]);
    const dpkgList = await run('chroot', [exported, 'dpkg', '-l']);
    expect(dpkgList.stdout).toMatch(/^ii +haveged /m);
    const kernels = await run('sh', ['-c', 'ls "$1"/usr/lib/modules/*/modules.dep', 'sh', exported]);
    expect(kernels.stdout.trim()).toMatch(/modules\.dep$/);
  }, 900_000);

  test('build --target bootstrap writes the ISO; a second identical build runs no stage', async () => {
    firstBuild = await cli(['build', 'debian-12', '--target', 'bootstrap', '--output', iso()]);
    expect(Object.keys(stageStatuses(firstBuild.stderr))).toEqual([
      'iso-base',
      'staging',
      'drivers',
      // bootstrap_initrd: small: only what the init, init.sh and the tether use.
      'minimise',
      'tether',
      'initrd',
      'iso',
    ]);
    // The SBOM beside the ISO validates and lists exactly what dpkg-query shows in the staged root.
    const sbom = await readFile(`${iso()}.cdx.json`, 'utf8');
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(sbom)).toBeNull();
    const listed = await run('chroot', [
      join(dir, 'staged'),
      'dpkg-query',
      '-W',
      '-f',
      '${Package} ${db:Status-Status}\n',
    ]);
    const installed = listed.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]!)
      .sort();
    const debs = (JSON.parse(sbom) as { components: { name: string; purl?: string }[] }).components
      .filter((c) => c.purl?.startsWith('pkg:deb/debian/'))
      .map((c) => c.name)
      .sort();
    expect(debs).toEqual(installed);
    expect(firstBuild.stderr).toMatch(/initrd: .*; ([\d.]+) MiB uncompressed/);
    const uncompressed = Number(/initrd: .*; ([\d.]+) MiB uncompressed/.exec(firstBuild.stderr)?.[1]);
    expect(uncompressed).toBeLessThanOrEqual(25);
    const again = await cli(['build', 'debian-12', '--target', 'bootstrap', '--output', iso()]);
    expectStageStatuses(again.stderr, Array(7).fill('cached'));
    expect(again.stderr).toMatch(/\(0 of 7 stages built\)/);
  }, 900_000);

  test('isobuild run (BIOS): the drivers are loaded, the entropy daemon runs and VIC’s chain is set', async () => {
    const res = await cli(
      [
        'run',
        iso(),
        '--',
        'sh',
        '-c',
        'cut -d" " -f1 /proc/modules; ps; /.tether/bin/iptables-wrapper -L -v',
      ],
      600_000,
    );
    const modules = res.stdout.split('\n');
    for (const driver of ['virtio_blk', 'virtio_pci', 'iptable_filter', 'nf_conntrack'])
      expect(modules).toContain(driver);
    expect(res.stdout).toMatch(/\/\.tether\/bin\/haveged -w 1024/);
    expect(res.stdout).toMatch(/Chain INPUT \(policy DROP/);
    expect(res.stdout).toMatch(/Chain VIC \(2 references\)/);
  }, 600_000);

  test('isobuild run --uefi prints the kernel version and passes the exit status on', async () => {
    const kernel = (await cli(['run', iso(), '--uefi', '--', 'uname', '-r'], 600_000)).stdout.trim();
    expect(kernel).toMatch(/^6\.\d+\.\d+-\d+-cloud-amd64$/);
    const failing = await run('node', [CLI, 'run', iso(), '--', 'sh', '-c', 'exit 7'], {
      cwd: dir,
      env,
      allowFailure: true,
      timeoutMs: 600_000,
    });
    expect(failing.exitCode).toBe(7);
  }, 900_000);

  test('microVM outputs: the firecracker folder runs uname -r under qemu -M microvm; make image sizes rootfs.ext4 by IMG_SIZE and boots', async () => {
    const folder = join(dir, 'bin', 'firecracker-debian-12');
    const built = await cli(['build', 'debian-12', '--target', 'firecracker']);
    expect(stageStatuses(built.stderr)).toMatchObject({ tether: 'built', disk: 'built' });
    expect((await readdir(folder)).sort()).toEqual([
      'initrd.img',
      'rootfs.ext4',
      'vm-config.json',
      'vmlinux',
    ]);
    const ran = await cli(['run', folder, '--timeout', '300', '--', 'uname', '-r'], 600_000);
    expect(ran.stdout.trim()).toMatch(/^\d+\.\d+\.\d+-.*-cloud-amd64$/);
    // osbuilder's `make image REPO=x IMG_SIZE=256M` is this build; `isobuild boot` detects the folder.
    const image = join(dir, 'bin', 'image-debian-12');
    await cli(['build', 'debian-12', '--target', 'image', '--size', '256M']);
    expect((await stat(join(image, 'rootfs.ext4'))).size).toBe(256 * 1024 * 1024);
    // The whole line: --expect also matches a line still being written (a prompt has no newline),
    // and the boot stops at the first match, so `up on` alone could stop it before the release.
    const booted = await cli(
      ['boot', image, '--expect', 'isobuild-microvm: .*up on \\S+-cloud-amd64', '--timeout', '300'],
      600_000,
    );
    expect(booted.stdout).toMatch(/isobuild-microvm: .*up on \S+-cloud-amd64/);
  }, 900_000);

  test('export the staging root as an OCI image; a Dockerfile FROM it is a repo that boots, caches and rebuilds from its root stage', async () => {
    const exported = await cli([
      'export',
      'debian-12',
      '--stage',
      'staging',
      '--oci',
      `oci-archive:${join(dir, 'base.tar')}`,
    ]);
    expectStageStatuses(exported.stderr, ['cached', 'cached']);
    const json = await cli([
      '--json',
      'export',
      'debian-12',
      '--stage',
      'staging',
      '--oci',
      join(dir, 'again.tar'),
    ]);
    const [event] = eventsOfType(json.stdout, 'export');
    expect(event).toMatchObject({
      repo: 'debian-12',
      stage: 'staging',
      format: 'oci-archive',
      path: join(dir, 'again.tar'),
    });
    expect(await sha256(join(dir, 'again.tar'))).toBe(await sha256(join(dir, 'base.tar')));
    const ociRepo = join(dir, 'repos', 'oci-demo');
    await mkdir(ociRepo);
    const spec = {
      name: 'oci-demo',
      packagemanager: 'oci',
      dockerfile: 'Dockerfile',
      kernel: 'linux-image-cloud-amd64',
      init: '/bin/init',
      packages: { base: '' },
    };
    await writeFile(join(ociRepo, 'repo-spec.json'), JSON.stringify(spec, null, 2));
    await writeFile(join(ociRepo, 'hello.txt'), 'hello from the Dockerfile\n');
    const dockerfile = [
      'FROM oci-archive:../../base.tar',
      'COPY hello.txt /etc/hello-from-dockerfile',
      // A layer that deletes a file: a whiteout the import must honour.
      'RUN echo "made by RUN" > /etc/made-by-run && rm /usr/bin/tac',
      '',
    ].join('\n');
    await writeFile(join(ociRepo, 'Dockerfile'), dockerfile);
    // VIC's way to reach the container: init.sh's install functions fill the tether tmpfs.
    await writeFile(
      join(ociRepo, 'init.sh'),
      'drivers=()\ninstall-entropy() { cp /etc/hello-from-dockerfile /etc/made-by-run "$1/"; }\n',
    );
    const ociIso = join(dir, 'bin', 'oci-demo.iso');
    const first = await cli(['build', 'oci-demo', '--output', ociIso]);
    expectStageStatuses(first.stderr, Array(7).fill('built'));
    // kernel_install: files recorded the kernel in the staging root's dpkg database: the image's
    // own apt installs nothing for it.
    expect(first.stderr).toMatch(/already in the image: linux-image-cloud-amd64/);
    expect(first.stderr).not.toMatch(/installing linux-image-cloud-amd64 with the image's own apt/);

    const shown = await cli(
      ['run', ociIso, '--', 'cat', '/.tether/hello-from-dockerfile', '/.tether/made-by-run'],
      600_000,
    );
    expect(shown.stdout).toBe('hello from the Dockerfile\nmade by RUN\n');

    const root = join(dir, 'oci-root');
    const again = await cli(['build', 'oci-demo', '--target', 'iso-base', '--export', root]);
    expectStageStatuses(again.stderr, ['cached']);
    await expect(stat(join(root, 'usr/bin/tac'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(root, 'usr/bin/head'))).resolves.toBeTruthy();
    expect((await cli(['build', 'oci-demo', '--output', ociIso])).stderr).toMatch(/\(0 of 7 stages built\)/);

    // The microVM outputs as for any repo: the Dockerfile's files are the VM's root.
    await cli(['build', 'oci-demo', '--target', 'firecracker']);
    const vm = await cli(
      ['run', join(dir, 'bin', 'firecracker-oci-demo'), '--', 'cat', '/etc/made-by-run'],
      600_000,
    );
    expect(vm.stdout).toBe('made by RUN\n');

    // A changed Dockerfile rebuilds the root and everything on it: what the next build would do,
    // from the keys the build computes (plan --explain; the unit tests hold explain to the build).
    await writeFile(join(ociRepo, 'Dockerfile'), `${dockerfile}RUN echo v2 > /etc/v2\n`);
    const changed = await explainStages('oci-demo');
    expect(changed.map((s) => s.status)).toEqual(Array(7).fill('rebuild'));
    expect(changed[0]!.reasons).toEqual(['Dockerfile changed']);
  }, 900_000);

  test('a staging.sh change reruns staging and what follows, not iso-base', async () => {
    await appendFile(join(repoDir, 'staging.sh'), '\necho "changed by the test"\n');
    // The keys the next build computes; the appliance build below runs on this change.
    const explained = await explainStages('debian-12', 'bootstrap');
    expect(explained.map((s) => [s.stage, s.status])).toEqual([
      ['iso-base', 'cached'],
      ['staging', 'rebuild'],
      ['drivers', 'rebuild'],
      ['minimise', 'rebuild'],
      ['tether', 'rebuild'],
      ['initrd', 'rebuild'],
      ['iso', 'rebuild'],
    ]);
    expect(explained[1]!.reasons).toEqual(['staging.sh changed']);
  }, 900_000);

  // The bootstrap's byte-identical rebuild is test/faults/reproducible-env.test.ts (two cold
  // builds under varied environments); --no-cache's running every stage is a unit test.

  const appliance = () => join(dir, 'bin', 'appliance.iso');

  test('the appliance root ships no SSH host keys, only the unit that makes them at boot', async () => {
    // systemd stops printing unit status on the console once the serial getty owns it, and the
    // host keys are made after that under TCG: a unit of the test's own (in this copy of the repo
    // only) says on the console, after the multi-user target, what the boot made of sshd.
    await appendFile(
      join(repoDir, 'staging.sh'),
      [
        '',
        'root="$(rootfs_dir "$PKGDIR")"',
        'mkdir -p "$root/usr/local/sbin" "$root/etc/systemd/system/multi-user.target.wants"',
        'cat > "$root/usr/local/sbin/isobuild-test-report" <<\'EOF\'',
        '#!/bin/sh',
        'keys=$(ls /etc/ssh | grep -c "^ssh_host_.*_key$")',
        'echo "isobuild-test: multi-user.target=$(systemctl is-active multi-user.target)" \\',
        '  "ssh.service=$(systemctl is-active ssh.service) host keys: $keys" > /dev/console',
        'EOF',
        'chmod 755 "$root/usr/local/sbin/isobuild-test-report"',
        'cat > "$root/etc/systemd/system/isobuild-test-report.service" <<\'EOF\'',
        '[Unit]',
        'After=multi-user.target',
        '[Service]',
        'Type=oneshot',
        'ExecStart=/usr/local/sbin/isobuild-test-report',
        'EOF',
        'ln -sf ../isobuild-test-report.service "$root/etc/systemd/system/multi-user.target.wants/"',
        '',
      ].join('\n'),
    );
    const built = await cli(['build', 'debian-12', '--target', 'appliance', '--output', appliance()]);
    // iso-base is shared with the bootstrap builds above, whatever staging.sh says.
    expect(stageStatuses(built.stderr)).toMatchObject({ 'iso-base': 'cached', staging: 'built' });
    const root = join(dir, 'appliance-root');
    await cli(['build', 'debian-12', '--target', 'appliance-staging', '--export', root]);
    // openssh-server's postinst made six; the clean step removed them.
    expect((await readdir(join(root, 'etc/ssh'))).filter((n) => n.startsWith('ssh_host_'))).toEqual([]);
    const unit = await readFile(join(root, 'etc/systemd/system/isobuild-ssh-host-keys.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/bin/ssh-keygen -A');
    await expect(
      stat(join(root, 'etc/systemd/system/multi-user.target.wants/isobuild-ssh-host-keys.service')),
    ).resolves.toBeTruthy();
  }, 900_000);

  test('the appliance ISO boots systemd to the multi-user target, makes its SSH host keys and starts sshd', async () => {
    const report = 'isobuild-test: multi-user.target=active ssh.service=active host keys: 3';
    const res = await cli(
      [
        'boot',
        appliance(),
        // The unit starts only when keys are missing (its conditions), so at boot, not at build.
        '--expect',
        'Starting .*Generate SSH host keys',
        '--expect',
        'login:',
        // Debian's ssh.service runs `sshd -t` first, which fails without host keys.
        '--expect',
        report,
        '--timeout',
        '600',
      ],
      800_000,
    );
    expect(res.stdout).toContain(report);
    expect(res.stdout).not.toMatch(/FAILED.*(ssh|SSH)/);
  }, 900_000);

  test('isobuild qemu debian-12 --target appliance --ssh: ssh -p PORT root@127.0.0.1 uname -r works with the per-VM key', async () => {
    // The build is the cached one above; qemu runs in the background with its console in a file.
    const vm = spawn(
      'node',
      [CLI, '--json', 'qemu', 'debian-12', '--target', 'appliance', '--ssh', '--no-console'],
      { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    vm.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((ok) => vm.on('exit', (code) => ok(code)));
    try {
      const ssh = await new Promise<{ port: number; key: string }>((ok, fail) => {
        let out = '';
        vm.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          try {
            // Only whole lines: a chunk may end inside one. A line off the schema fails the test.
            const [ev] = eventsOfType(out.slice(0, out.lastIndexOf('\n') + 1), 'ssh') as unknown as {
              port: number;
              key: string;
            }[];
            if (ev) ok(ev);
          } catch (err) {
            fail(err as Error);
          }
        });
        void exited.then((code) => fail(new Error(`isobuild qemu exited (${code}): ${stderr}`)));
      });
      // The key is the VM's own, in the cache: never in the repo folder or a stage root.
      expect(ssh.key.startsWith(join(dir, 'cache', 'ssh') + '/')).toBe(true);
      expect((await stat(ssh.key)).mode & 0o777).toBe(0o600);
      // sshd comes up ~a minute in under TCG: try until it answers (each try ends on its own).
      let res: RunResult | undefined;
      for (let attempt = 0; attempt < 60 && res?.exitCode !== 0; attempt++) {
        res = await run(
          'ssh',
          [
            ...['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'],
            ...['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20'],
            ...['-i', ssh.key, '-p', String(ssh.port), 'root@127.0.0.1', 'uname', '-r'],
          ],
          { allowFailure: true, timeoutMs: 60_000 },
        );
        if (res.exitCode !== 0) await new Promise((ok) => setTimeout(ok, 5_000));
      }
      expect(res?.stdout.trim()).toMatch(/^6\.\d+\.\d+-\d+-cloud-amd64$/);
      // isobuild ssh finds the port and key of the running VM itself.
      const viaCli = await cli([
        'ssh',
        'debian-12',
        '--target',
        'appliance',
        '--',
        'cat',
        '/root/.ssh/authorized_keys',
      ]);
      expect(viaCli.stdout.trim()).toBe((await readFile(`${ssh.key}.pub`, 'utf8')).trim());
    } finally {
      vm.kill('SIGTERM');
      await exited;
    }
    // qemu dies with isobuild (its parent-death signal): none is left booting this test's ISO.
    const ps = await run('ps', ['-eo', 'args']);
    expect(ps.stdout.split('\n').filter((l) => l.includes('qemu-system') && l.includes(dir))).toEqual([]);
    const after = await run('node', [CLI, 'ssh', 'debian-12', '--', 'true'], {
      cwd: dir,
      env,
      allowFailure: true,
    });
    expect(after.exitCode).not.toBe(0);
    expect(after.stderr).toMatch(
      /no VM started by `isobuild qemu debian-12 --target appliance --ssh` is running/,
    );
  }, 900_000);

  test('rebuilding the appliance (--no-cache) gives a byte-identical ISO: no host keys made at build time', async () => {
    const before = await sha256(appliance());
    const rebuilt = join(dir, 'bin', 'appliance-rebuilt.iso');
    await cli(['build', 'debian-12', '--target', 'appliance', '--no-cache', '--output', rebuilt]);
    expect(await sha256(rebuilt)).toBe(before);
  }, 900_000);
});
