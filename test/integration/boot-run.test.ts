import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError } from '../../src/errors.js';
import { makeBusyboxRoot } from '../../src/image/containerfs.js';
import { writeOutputs } from '../../src/image/outputs.js';
import { resolveBootTarget, type VmOptions } from '../../src/image/qemu.js';
import { runInVm } from '../../src/image/run-vm.js';
import { initrdStage } from '../../src/stages/initrd.js';
import { checkCliBuilt, runCli } from '../unit/cli/run-cli.js';
import { makeStageContext, makeTinyTrees, tinySpec } from './boot-fixtures.js';
import { runStageWith } from '../helpers/stage-context.js';
import { targetPlanFields } from '../../src/stage/targets.js';

/**
 * `isobuild run` end to end, with the tiny init standing in for the bootstrap init: the initrd
 * stage builds the initrd, the kernel+initrd writer puts it in a folder, and runInVm boots that
 * folder with a containerfs disk made from a busybox root (or a given one).
 */
/** Generous: TCG on a busy 2-core host is slow; these are guards, not measurements. */
const BOOT_MS = 300_000;
const JEST_MS = BOOT_MS + 60_000;

describe('isobuild run on a tiny kernel+initrd', () => {
  let dir: string;
  let vm: Omit<VmOptions, 'disks'>;
  let folder = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-boot-run-'));
    const { rootfs, bootfs } = await makeTinyTrees(dir);
    const artifacts = join(dir, 'artifacts');
    const ctx = await makeStageContext(
      'initrd',
      { rootfs, bootfs, artifacts, tmpDir: join(dir, 'tmp') },
      tinySpec({ compression: 'gzip' }),
    );
    await runStageWith(initrdStage, ctx);
    const plan = {
      ...ctx.plan,
      ...targetPlanFields('initrd'),
      options: { ...ctx.plan.options, outputDir: dir },
    };
    const [out] = await writeOutputs(plan, { artifacts });
    folder = out!;
    vm = {
      target: await resolveBootTarget(out!),
      uefi: false,
      diskInterface: 'virtio',
      memoryMb: 512,
      accel: 'tcg',
    };
  }, JEST_MS);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('wrote the kernel+initrd folder and nothing else beside it', async () => {
    expect((await readdir(join(dir, 'tiny'))).sort()).toEqual(['cmdline', 'initrd.img', 'vmlinuz']);
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it(
    "prints the command's output and returns its status, arguments intact",
    async () => {
      const out: string[] = [];
      const tricky = `it's $HOME "quoted"; echo no`;
      const status = await runInVm({
        vm,
        argv: ['sh', '-c', 'printf "%s\\n" "$1"; echo second line; exit 7', 'sh', tricky],
        timeoutMs: BOOT_MS,
        onOutput: (l) => out.push(l),
      });
      expect(out).toEqual([tricky, 'second line']);
      expect(status).toBe(7);
    },
    JEST_MS,
  );

  it(
    'runs in a given root and leaves that folder untouched',
    async () => {
      const root = join(dir, 'given-root');
      await makeBusyboxRoot(root);
      await writeFile(join(root, 'hello.txt'), 'from the given root\n');
      const out: string[] = [];
      const status = await runInVm({
        vm,
        argv: ['cat', '/hello.txt'],
        rootfs: root,
        timeoutMs: BOOT_MS,
        onOutput: (l) => out.push(l),
      });
      expect([status, out]).toEqual([0, ['from the given root']]);
      expect(await readdir(root)).not.toContain('.isobuild');
    },
    JEST_MS,
  );

  it('fails with the console tail when the marker never comes', async () => {
    const err = await runInVm({ vm, argv: ['sleep', '600'], timeoutMs: 1_000, onOutput: () => {} }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).message).toMatch(/no ISOBUILD-(BEGIN|EXIT) within 1 s/);
    expect((err as CommandError).message).toContain('qemu-system-x86_64');
  });

  describe('through the real CLI (node dist/cli/main.js)', () => {
    beforeAll(checkCliBuilt);

    it(
      'isobuild run prints only the command output and exits with its status',
      async () => {
        const res = await runCli(
          ['run', folder, '--', 'sh', '-c', 'echo "out: $1"; exit 42', 'sh', 'a b'],
          dir,
        );
        expect(res).toEqual({ code: 42, stdout: 'out: a b\n', stderr: '' });
      },
      JEST_MS,
    );

    it(
      'isobuild boot --expect names the patterns not seen, with the console tail',
      async () => {
        const res = await runCli(
          ['boot', folder, '--expect', 'tiny-init: up', '--expect', 'never-printed'],
          dir,
        );
        expect(res.code).toBe(1);
        expect(res.stdout).toMatch(/tiny-init: no containerfs disk/);
        expect(res.stderr).toMatch(/not seen before qemu exited \(status 0\):\n {2}\/never-printed\//);
        expect(res.stderr).not.toMatch(/tiny-init: up\//);
      },
      JEST_MS,
    );
  });
});
