// The package managers a spec is checked against: src/pm/index.ts hands them to src/spec/.
import '../../src/pm/index.js';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appInputsOf, writeAppLayer } from '../../src/app/layer.js';
import { run } from '../../src/exec/run.js';
import { measureTree } from '../../src/fs/measure-tree.js';
import type { MinimiseManifest } from '../../src/minimise/report.js';
import { loadRepoFolder } from '../../src/spec/load.js';
import { minimiseStage } from '../../src/stages/minimise.js';
import { makeContext, recordingLogger, runStageWith } from '../helpers/stage-context.js';
import { referenceRootTarball, unpackRoot } from './minimise-root.js';

/**
 * repos/debian-12-python end to end, minus the stages other tests cover: a Debian 12 root with
 * the spec's packages and the cloud kernel (mmdebstrap, cached), the kernel moved out of the
 * root as iso-base does, then the real minimise stage (trace, verify) and app layer, an initrd
 * packed the simple way (cpio | zstd) and a direct kernel+initrd boot in qemu (TCG) that must
 * print the program's output on the serial console.
 */
const REPO = fileURLToPath(new URL('../../repos/debian-12-python', import.meta.url));
const PACKAGES = ['python3', 'busybox', 'kmod', 'linux-image-cloud-amd64'];
/** Seed 000's knobs: a command before run (shell builtins only: the root has no coreutils), run's arguments. */
const KNOBS =
  'appCmds="while read m rest; do echo module=$m; done </proc/modules:echo second-cmd" appArgs="one two"';

describe('debian-12-python app appliance', () => {
  let dir: string;
  let root: string;
  let before = 0;
  let manifest: MinimiseManifest;
  let serial = '';
  let initrdBytes = 0;
  const logger = recordingLogger();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-app-python-'));
    root = join(dir, 'root');
    const boot = join(dir, 'boot');
    await mkdir(boot);
    await unpackRoot(await referenceRootTarball(PACKAGES), root);
    // iso-base's job: vmlinuz to the boot tree, nothing else of /boot in the root.
    const bootFiles = await readdir(join(root, 'boot'));
    const vmlinuz = bootFiles.find((f) => f.startsWith('vmlinuz-')) as string;
    const kernelVersion = vmlinuz.slice('vmlinuz-'.length);
    await copyFile(join(root, 'boot', vmlinuz), join(boot, 'vmlinuz'));
    for (const f of bootFiles) await rm(join(root, 'boot', f), { recursive: true, force: true });
    before = (await measureTree(root)).bytes;

    const loaded = await loadRepoFolder(REPO);
    if (!loaded.spec) throw new Error(JSON.stringify(loaded.errors));
    const common = {
      rootfs: root,
      bootfs: boot,
      artifacts: join(dir, 'artifacts'),
      tmpDir: join(dir, 'tmp'),
      spec: loaded.spec,
      // Two of VIC's netfilter drivers (and their dependencies): the init loads them with the root's modprobe.
      meta: { kernelVersion, drivers: ['nf_conntrack', 'xt_state'] },
      target: 'app' as const,
      logger,
    };
    await runStageWith(minimiseStage, makeContext({ ...common, stage: 'minimise' }));
    manifest = JSON.parse(await readFile(join(dir, 'artifacts/minimise-manifest.json'), 'utf8'));
    await writeAppLayer(makeContext({ ...common, stage: 'tether' }), appInputsOf(loaded.spec));

    const initrd = join(dir, 'initrd.img');
    await run('sh', [
      '-c',
      'cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | zstd -q -19 -T0 -o "$2"',
      'pack',
      root,
      initrd,
    ]);
    initrdBytes = (await stat(initrd)).size;
    const t0 = Date.now();
    const res = await run(
      'qemu-system-x86_64',
      [
        ...[
          '-accel',
          'tcg',
          '-m',
          '512',
          '-no-reboot',
          '-display',
          'none',
          '-serial',
          'stdio',
          '-monitor',
          'none',
        ],
        ...['-kernel', join(boot, 'vmlinuz'), '-initrd', initrd],
        ...[
          '-append',
          `console=tty0 console=ttyS0,115200 panic=-1 cryptomgr.notests ${loaded.spec.cmdline} ${KNOBS}`,
        ],
      ],
      { timeoutMs: 300_000, input: '' },
    );
    serial = res.stdout;
    logger.info(
      `figures: reference root ${before} B, minimised root ${manifest.after.bytes} B, initrd ${initrdBytes} B, ` +
        `boot to poweroff ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    process.stderr.write(logger.lines.map((l) => l.msg).join('\n') + '\n');
  }, 900_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('boots and prints the program output on the serial console, then powers off', () => {
    expect(serial).toMatch(
      /APP-RESULT \{"answer": 42, "args": \["one", "two"\], "openssl": "OpenSSL 3\.[^"]*", "sha256": "[0-9a-f]{16}"/,
    );
    expect(serial).toContain('ISOBUILD-BEGIN');
    expect(serial).toContain('ISOBUILD-EXIT 0');
  });

  it('loads the drivers and runs the appCmds before the app', () => {
    expect(serial).not.toContain('cannot load driver');
    expect(serial).toMatch(/module=xt_state[\s\S]*module=nf_conntrack[\s\S]*second-cmd[\s\S]*ISOBUILD-BEGIN/);
  });

  it('keeps at most 10% of the reference root', () => {
    // The minimise stage measured the root after adding the app's own few files.
    expect(manifest.before.bytes).toBeGreaterThanOrEqual(before);
    expect(manifest.after.bytes).toBeLessThanOrEqual(manifest.before.bytes * 0.1);
  });

  it('explains every kept path in the manifest', () => {
    expect(manifest.entries.find((e) => e.path === '/app/main.py')?.reasons).toContain('traced');
    expect(manifest.entries.find((e) => e.path === '/app/run')?.reasons).toEqual(
      expect.arrayContaining(['init', 'traced']),
    );
    expect(manifest.entries.every((e) => e.reasons.length > 0)).toBe(true);
  });
});
