import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRoot } from '../../src/image/containerfs.js';
import { resolveBootTarget } from '../../src/image/qemu.js';
import { runInVm } from '../../src/image/run-vm.js';
import { checkCliBuilt, runCli } from '../unit/cli/run-cli.js';
import {
  addVirtioModules,
  cloudKernel,
  debianPackageFiles,
  makeBootstrapImage,
  type CloudKernel,
} from './boot-fixtures.js';

/**
 * The bootstrap init on roots it was not tuned for: it brings its own static busybox, so a root
 * of Debian's busybox package (no applet links, dynamically linked), a root of a static busybox
 * with its links, and a root of one static binary all boot and run `uname -r` in the container.
 * Each is the real tether and initrd stages and a real qemu boot (TCG); the three boot at once.
 */
const BOOT_MS = 300_000;
const JEST_MS = 2 * BOOT_MS;

/** A folder holding one static binary: busybox-static named uname (it picks the applet by name). */
async function oneStaticBinary(root: string): Promise<void> {
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin', 'uname'));
  await chmod(join(root, 'bin', 'uname'), 0o755);
}

const ROOTS: Record<string, (root: string) => Promise<void>> = {
  'debian-busybox-without-links': (root) => debianPackageFiles('busybox', root),
  'static-busybox-with-links': (root) => makeBusyboxRoot(root),
  'one-static-binary': oneStaticBinary,
};

describe('the init layer boots any root', () => {
  let dir: string;
  let kernel: CloudKernel;
  const folders: Record<string, string> = {};
  const logs: Record<string, string[]> = {};

  beforeAll(async () => {
    await checkCliBuilt();
    dir = await mkdtemp(join(tmpdir(), 'isobuild-init-layer-'));
    kernel = await cloudKernel();
    for (const [name, make] of Object.entries(ROOTS)) {
      const rootfs = join(dir, name, 'rootfs');
      await mkdir(rootfs, { recursive: true });
      await make(rootfs);
      await addVirtioModules(rootfs, kernel);
      const image = await makeBootstrapImage({ dir: join(dir, name), rootfs, kernel });
      folders[name] = image.folder;
      logs[name] = image.logger.lines.map((l) => l.msg);
    }
  }, JEST_MS);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('records the init layer busybox', () => {
    for (const name of Object.keys(ROOTS))
      expect(logs[name]!.join('\n')).toMatch(
        /init layer: BusyBox v[\d.]+ .*\/usr\/lib\/isobuild\/init\/bin\/busybox/,
      );
  });

  it(
    'runs uname -r in the container of each root (static-binary container through the CLI)',
    async () => {
      const container = join(dir, 'container');
      await oneStaticBinary(container);
      const inVm = async (name: string) => {
        const out: string[] = [];
        const status = await runInVm({
          vm: {
            target: await resolveBootTarget(folders[name]!),
            uefi: false,
            diskInterface: 'virtio',
            memoryMb: 512,
            accel: 'tcg',
          },
          argv: ['uname', '-r'],
          timeoutMs: BOOT_MS,
          onOutput: (l) => out.push(l),
        });
        return { status, out };
      };
      const [a, b, cli] = await Promise.all([
        inVm('debian-busybox-without-links'),
        inVm('static-busybox-with-links'),
        runCli(
          [
            'run',
            '--rootfs',
            container,
            '--memory',
            '512',
            folders['one-static-binary']!,
            '--',
            '/bin/uname',
            '-r',
          ],
          dir,
        ),
      ]);
      expect(a).toEqual({ status: 0, out: [kernel.version] });
      expect(b).toEqual({ status: 0, out: [kernel.version] });
      expect(cli.stdout.trim()).toBe(kernel.version);
      expect(cli.code).toBe(0);
    },
    JEST_MS,
  );
});
