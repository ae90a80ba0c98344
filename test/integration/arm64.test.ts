import { copyFile, cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../../src/exec/run.js';
import { sha256File } from '../../src/fs/hash.js';
import { copyFromInitrd } from '../../src/image/initrd-file.js';
import { INIT_BUSYBOX } from '../../src/tether/layout.js';
import { sharedStageCache } from '../helpers/test-cache.js';

/**
 * arm64 from this amd64 host, through the real CLI (docs/arm64.md): `build debian-12 --arch
 * arm64` with mmdebstrap's maintainer scripts under qemu-user, then the ISO booted by `isobuild
 * run` under qemu-system-aarch64 with AAVMF, and the firecracker folder under -M virt. The
 * shipped debian-12 and not a smaller repo: its base set is what arm64 users build, and the
 * stage cache it shares with other files (sharedStageCache) keeps reruns to the boots. Cold,
 * on 2 busy cores, the build is ~13 min: most of it dpkg's essential set under emulation.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const BUILD_MS = 2_400_000;
const BOOT_MS = 600_000;

let dir: string;
let env: Record<string, string>;
const cli = (args: string[], timeoutMs = BUILD_MS): Promise<RunResult> =>
  run('node', [CLI, ...args], { cwd: dir, env, timeoutMs, stage: 'arm64 test' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-arm64-'));
  await cp(join(ROOT, 'repos', 'debian-12'), join(dir, 'repos', 'debian-12'), { recursive: true });
  env = { ISOBUILD_CACHE: sharedStageCache(), ISOBUILD_REPOS: join(dir, 'repos'), NO_COLOR: '1' };
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const iso = () => join(dir, 'bin', 'bootstrap-debian-12.iso');

describe('build debian-12 --arch arm64', () => {
  beforeAll(async () => {
    await cli(['build', 'debian-12', '--arch', 'arm64', '--bin', join(dir, 'bin')]);
  }, BUILD_MS);

  test(
    'the ISO boots under AAVMF and `run -- uname -m` prints aarch64',
    async () => {
      const res = await cli(
        ['run', iso(), '--memory', '512', '--timeout', '540', '--', 'uname', '-m'],
        BOOT_MS,
      );
      expect(res.stdout.trim().split('\n')).toContain('aarch64');
    },
    BOOT_MS,
  );

  test('file says ARM aarch64 of the kernel and of the init layer busybox', async () => {
    const work = join(dir, 'files');
    await run('xorriso', ['-osirrox', 'on', '-indev', iso(), '-extract', '/boot', work]);
    const kernel = await run('file', ['-b', join(work, 'vmlinuz')]);
    expect(kernel.stdout).toMatch(/ARM64 boot executable Image/);
    await copyFromInitrd(join(work, 'initrd.img'), INIT_BUSYBOX.slice(1), join(work, 'busybox'));
    const busybox = await run('file', ['-b', join(work, 'busybox')]);
    expect(busybox.stdout).toMatch(/ARM aarch64.*statically linked/);
  }, 120_000);

  test(
    'the iso stage rebuilt from the same parents gives a byte-identical ISO',
    async () => {
      const first = join(dir, 'first.iso');
      await copyFile(iso(), first);
      await cli(['build', 'debian-12', '--arch', 'arm64', '--bin', join(dir, 'bin'), '--force']);
      expect(await sha256File(iso())).toBe(await sha256File(first));
    },
    BUILD_MS,
  );

  test(
    'the firecracker folder runs `uname -m` under qemu -M virt',
    async () => {
      const folder = join(dir, 'bin', 'firecracker-debian-12');
      await cli([
        'build',
        'debian-12',
        '--arch',
        'arm64',
        '--target',
        'firecracker',
        '--bin',
        join(dir, 'bin'),
      ]);
      const config = JSON.parse(await readFile(join(folder, 'vm-config.json'), 'utf8')) as {
        'boot-source': { kernel_image_path: string };
      };
      const kernel = await run('file', ['-b', join(folder, config['boot-source'].kernel_image_path)]);
      expect(kernel.stdout).toMatch(/ARM64 boot executable Image/);
      const res = await cli(['run', folder, '--timeout', '540', '--', 'uname', '-m'], BOOT_MS);
      expect(res.stdout.trim().split('\n')).toContain('aarch64');
    },
    BUILD_MS,
  );
});

describe('arm64 at validate time', () => {
  test('build --arch riscv64 is refused before any work, naming the supported ones', async () => {
    const res = await run('node', [CLI, 'build', 'debian-12', '--arch', 'riscv64'], {
      cwd: dir,
      env,
      allowFailure: true,
    });
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toMatch(/--arch riscv64: isobuild builds amd64 and arm64 images/);
  });
});
