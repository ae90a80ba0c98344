import type { BuildPlan, Target } from '../../../src/stage/types.js';
import { makePlan } from '../../../src/pipeline/plan.js';
import { minimiseStage, smallBootstrap } from '../../../src/stages/minimise.js';
import { makeSpec, stageCacheInputs, toolsOf } from '../../helpers/stage-context.js';

const OPTIONS = { cacheRoot: '/c', outputDir: '/o', noCache: false, lockTimeout: 0, sourceDateEpoch: 0 };

function planFor(target: Target, over: Parameters<typeof makeSpec>[0] = {}): BuildPlan {
  return makePlan(makeSpec({ app: { run: ['/bin/true'] }, ...over }), target, OPTIONS);
}

test.each([
  ['bootstrap', 'small', true],
  ['initrd', 'small', true],
  ['bootstrap', 'full', false],
  ['appliance', 'small', false],
  ['app', 'small', false],
  ['bootstrap-staging', 'small', false],
  ['firecracker', 'small', false],
  ['rootfs-ext4', 'small', false],
] as const)('%s with bootstrap_initrd: %s keeps only the init needs: %s', (target, mode, small) => {
  const plan = planFor(target, { bootstrapInitrd: mode });
  expect(plan.stages.some((s) => s.name === 'minimise')).toBe(small);
  if (target !== 'bootstrap-staging') expect(smallBootstrap(plan)).toBe(small);
});

test.each(['/lib/systemd/systemd', '/sbin/init'])(
  'a bootstrap booting the distro init %s keeps the whole root (its units and rc scripts)',
  (init) => {
    const plan = planFor('bootstrap', { init });
    expect(smallBootstrap(plan)).toBe(false);
    expect(plan.stages.some((s) => s.name === 'minimise')).toBe(false);
  },
);

test('a small bootstrap traces only init.sh (strace only with one), and its key holds the init needs', async () => {
  expect(toolsOf(minimiseStage, planFor('bootstrap'))).toEqual([]);
  const plan = planFor('bootstrap', { hooks: { init: '/nonexistent/init.sh' } });
  expect(toolsOf(minimiseStage, plan).map((t) => t.tool)).toContain('strace');
  const inputs = await stageCacheInputs(minimiseStage, plan);
  expect(inputs.values).toMatchObject({
    smallBootstrap: true,
    initPaths: expect.arrayContaining(['bash', 'haveged']),
  });
  const full = await stageCacheInputs(minimiseStage, planFor('bootstrap', { bootstrapInitrd: 'full' }));
  expect(full.values).not.toEqual(inputs.values);
});
