import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildError } from '../../../src/errors.js';
import { driversStage } from '../../../src/stages/drivers.js';
import { makeContext, makeSpec, recordingLogger, runStageWith } from '../../helpers/stage-context.js';

const FIXTURE_ROOT = fileURLToPath(new URL('../../fixtures/kernel-root/', import.meta.url));

describe('drivers stage', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-drivers-'));
    await cp(FIXTURE_ROOT, join(dir, 'root'), { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('records the load order, loads renamed common drivers by their new name and measures the payload', async () => {
    const logger = recordingLogger();
    const ctx = makeContext({
      stage: 'drivers',
      rootfs: join(dir, 'root'),
      tmpDir: dir,
      logger,
      spec: makeSpec({ drivers: { common: true, repo: ['nfsv3'], spec: ['fs-ext4'] } }),
      meta: { kernelVersion: '6.1.0-test' },
    });
    await runStageWith(driversStage, ctx);
    expect(ctx.meta.drivers).toEqual(
      expect.arrayContaining([
        'virtio_pci',
        'virtio_blk',
        'sd_mod',
        'iptable_filter',
        'nf_conntrack',
        'nfsv3',
      ]),
    );
    expect(ctx.meta.drivers!.indexOf('lockd')).toBeLessThan(ctx.meta.drivers!.indexOf('nfsv3'));
    expect(ctx.meta.drivers).not.toContain('ext4');
    const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    // nf_nat_ipv4 and nf_conntrack_ipv4 resolve to nf_nat and nf_conntrack: no warning for them.
    expect(ctx.meta.drivers).toContain('nf_nat');
    expect(warnings.filter((w) => /_ipv4"/.test(w))).toEqual([]);
    expect(warnings).toContainEqual(expect.stringContaining('"vmxnet3"'));
    expect(ctx.meta.modulesBytes).toBeGreaterThan(0);
    expect(logger.lines).toContainEqual({
      level: 'info',
      msg: expect.stringMatching(/module payload [\d.]+ MiB in 28 files/),
    });
  });

  it("without VIC's common list (common_drivers: false) loads and keeps only init.sh's and the spec's drivers, with no warning", async () => {
    const logger = recordingLogger();
    const ctx = makeContext({
      stage: 'drivers',
      rootfs: join(dir, 'root'),
      tmpDir: dir,
      logger,
      spec: makeSpec({ drivers: { common: false, repo: ['nfsv3'], spec: [] }, modules: 'drivers' }),
      meta: { kernelVersion: '6.1.0-test' },
    });
    await runStageWith(driversStage, ctx);
    expect(ctx.meta.drivers).toContain('nfsv3');
    for (const common of ['virtio_pci', 'iptable_filter', 'nf_conntrack', 'sd_mod'])
      expect(ctx.meta.drivers).not.toContain(common);
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it.each([
    [
      'repo',
      { common: true, repo: ['no_such_nic'], spec: [] },
      /driver "no_such_nic" \(from the repo's init.sh\) is neither a module nor built into kernel 6.1.0-test/,
    ],
    [
      'spec',
      { common: true, repo: [], spec: ['gone-too'] },
      /driver "gone-too" \(from the spec's drivers\) is neither a module nor built into kernel 6.1.0-test/,
    ],
  ])('fails naming a missing %s driver and the kernel', async (_what, drivers, message) => {
    const ctx = makeContext({
      stage: 'drivers',
      rootfs: join(dir, 'root'),
      tmpDir: dir,
      spec: makeSpec({ drivers }),
      meta: { kernelVersion: '6.1.0-test' },
    });
    const err = await runStageWith(driversStage, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as Error).message).toMatch(message);
  });

  it('finds the kernel version from /lib/modules when iso-base recorded none', async () => {
    const ctx = makeContext({ stage: 'drivers', rootfs: join(dir, 'root'), tmpDir: dir, spec: makeSpec() });
    await runStageWith(driversStage, ctx);
    expect(ctx.meta.kernelVersion).toBe('6.1.0-test');
  });
});
