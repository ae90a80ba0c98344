import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { outputPath } from '../../../src/build/outputs.js';
import { InternalError } from '../../../src/errors.js';
import { OUTPUT_WRITERS, writeOutputs } from '../../../src/image/outputs.js';
import { describePlan, makePlan } from '../../../src/pipeline/plan.js';
import {
  formatTargetsMarkdown,
  outputPathFor,
  TARGET_TABLE,
  TARGETS,
  TARGETS_DOC_BEGIN,
  TARGETS_DOC_END,
  type Target,
} from '../../../src/stage/targets.js';
import { STAGE_NAMES, TARGETS as TYPES_TARGETS, type OutputFormat } from '../../../src/stage/types.js';
import { makeSpec } from '../../helpers/stage-context.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OPTIONS = { cacheRoot: '/c', outputDir: 'bin', noCache: false, lockTimeout: 0, sourceDateEpoch: 0 };
const spec = makeSpec({ name: 'demo', app: { run: ['/bin/true'] } });
const plan = (target: Target) => makePlan(spec, target, OPTIONS);

test("the target names are the table's keys, in the order help and docs list them", () => {
  expect(TYPES_TARGETS).toBe(TARGETS);
  expect(TARGETS).toEqual([
    'iso-base',
    'bootstrap-staging',
    'appliance-staging',
    'bootstrap',
    'appliance',
    'initrd',
    'uki',
    'app',
    'rootfs',
    'rootfs-tar',
    'rootfs-ext4',
    'rootfs-squashfs',
    'kernel',
    'image',
    'firecracker',
    'celestial',
    'appliance-disk',
  ]);
});

describe('makePlan reads the targets table', () => {
  test.each(TARGETS)('%s: flavour, app, microVM, initrd root and outputs are its entry', (target) => {
    const meaning = TARGET_TABLE[target];
    expect(plan(target)).toMatchObject({
      target,
      flavour: meaning.flavour,
      app: meaning.app,
      initrdRoot: meaning.initrdRoot,
      // Without --format: the outputs not written only on request.
      outputs: meaning.outputs.filter((o) => !('onRequest' in o)).map((o) => o.format),
    });
    expect(plan(target).microvm).toEqual(meaning.microvm);
  });

  test("--format picks among the target's outputs, in its order; a format it does not write is refused", () => {
    const disk = (formats: OutputFormat[]) =>
      makePlan(spec, 'appliance-disk', { ...OPTIONS, formats }).outputs;
    expect(plan('appliance-disk').outputs).toEqual(['raw']);
    expect(disk(['vmdk', 'qcow2'])).toEqual(['qcow2', 'vmdk']);
    expect(disk(['vpc'])).toEqual(['vpc']);
    expect(() => disk(['iso'])).toThrow(
      '--format iso: target appliance-disk writes raw, qcow2, vmdk, vhdx, vpc',
    );
    expect(() => makePlan(spec, 'bootstrap', { ...OPTIONS, formats: ['qcow2'] })).toThrow(
      '--format qcow2: target bootstrap writes iso',
    );
  });

  test.each(TARGETS)('%s: the plan stops at its last stage, and no stage after it runs', (target) => {
    const stages = plan(target).stages.map((s) => s.name);
    expect(stages.at(-1)).toBe(TARGET_TABLE[target].lastStage);
  });

  test('the stage lists follow from the table (a few by hand, so the check is not circular)', () => {
    const names = (t: Target) => plan(t).stages.map((s) => s.name);
    expect(names('iso-base')).toEqual(['iso-base']);
    expect(names('appliance-staging')).toEqual(['iso-base', 'staging']);
    expect(names('bootstrap')).toEqual([
      'iso-base',
      'staging',
      'drivers',
      'minimise',
      'tether',
      'initrd',
      'iso',
    ]);
    expect(names('appliance')).toEqual(['iso-base', 'staging', 'drivers', 'tether', 'initrd', 'iso']);
    expect(names('rootfs')).toEqual(['iso-base', 'staging', 'drivers', 'tether']);
    expect(names('celestial')).toEqual(['iso-base', 'staging', 'drivers', 'tether', 'disk']);
    expect(plan('celestial').microvm).toEqual({ disk: 'squashfs' });
    expect(plan('appliance-staging').flavour).toBe('appliance');
    expect(plan('app')).toMatchObject({ app: true, flavour: 'bootstrap', outputs: ['iso', 'kernel+initrd'] });
  });

  test('a plan for the app target without an app section is a usage error', () => {
    expect(() => makePlan(makeSpec({ name: 'demo' }), 'app', OPTIONS)).toThrow(/has no "app" section/);
  });
});

describe('outputs and their default paths', () => {
  test("each output's writer reads a stage the target runs", () => {
    for (const target of TARGETS) {
      const last = STAGE_NAMES.indexOf(TARGET_TABLE[target].lastStage);
      for (const o of TARGET_TABLE[target].outputs)
        expect({
          target,
          format: o.format,
          ok: STAGE_NAMES.indexOf(OUTPUT_WRITERS[o.format].stage) <= last,
        }).toEqual({ target, format: o.format, ok: true });
    }
  });

  test("VIC's names, as README and the Makefile docs give them", () => {
    const paths = Object.fromEntries(
      TARGETS.map((t) => [t, TARGET_TABLE[t].outputs.map((o) => outputPathFor(t, o.format, 'demo', 'bin'))]),
    );
    expect(paths).toEqual({
      'iso-base': [],
      'bootstrap-staging': [],
      'appliance-staging': [],
      bootstrap: ['bin/bootstrap-demo.iso'],
      appliance: ['bin/appliance-demo.iso'],
      initrd: ['bin/demo'],
      uki: ['bin/uki-demo.efi'],
      app: ['bin/app-demo.iso', 'bin/app-demo'],
      rootfs: ['bin/rootfs-demo'],
      'rootfs-tar': ['bin/rootfs-demo.tar'],
      'rootfs-ext4': ['bin/rootfs-demo.ext4'],
      'rootfs-squashfs': ['bin/rootfs-demo.squashfs'],
      kernel: ['bin/vmlinux-demo', 'bin/vmlinuz-demo'],
      image: ['bin/image-demo'],
      firecracker: ['bin/firecracker-demo'],
      celestial: ['bin/celestial-demo'],
      'appliance-disk': [
        'bin/appliance-demo.raw',
        'bin/appliance-demo.qcow2',
        'bin/appliance-demo.vmdk',
        'bin/appliance-demo.vhdx',
        'bin/appliance-demo.vhd',
        'bin/appliance-demo.ova',
      ],
    });
  });

  test('no two targets write to the same default path', () => {
    const all = TARGETS.flatMap((t) => TARGET_TABLE[t].outputs.map((o) => o.path));
    expect(new Set(all).size).toBe(all.length);
  });

  test('the build and the writers agree: -o names the first output, the rest go under --bin', () => {
    const app = plan('app');
    const flags = { outputDir: 'out' };
    expect(outputPath(app, 'iso', flags)).toBe(join(process.cwd(), 'out/app-demo.iso'));
    expect(outputPath(app, 'kernel+initrd', flags)).toBe(join(process.cwd(), 'out/app-demo'));
    expect(outputPath(app, 'iso', { ...flags, output: 'x.iso' })).toBe(join(process.cwd(), 'x.iso'));
    expect(outputPath(app, 'kernel+initrd', { ...flags, output: 'x.iso' })).toBe(
      join(process.cwd(), 'out/app-demo'),
    );
    expect(outputPath(plan('kernel'), 'vmlinux', { ...flags, output: 'vm' })).toBe(join(process.cwd(), 'vm'));
    // What build writes by default is what the writers write with no destination.
    for (const target of TARGETS)
      for (const format of plan(target).outputs)
        expect(outputPath(plan(target), format, { outputDir: 'bin' })).toBe(
          join(process.cwd(), outputPathFor(target, format, 'demo', 'bin')),
        );
  });

  test('a format the target does not write has no default path', async () => {
    const odd = { ...plan('bootstrap'), outputs: ['vmlinux'] as const };
    await expect(writeOutputs(odd, { artifacts: '/nonexistent' })).rejects.toThrow(InternalError);
  });

  test('isobuild plan shows the description and default paths', () => {
    expect(describePlan(plan('app'))).toMatchObject({
      description: TARGET_TABLE.app.description,
      outputs: ['iso', 'kernel+initrd'],
      paths: { iso: 'bin/app-demo.iso', 'kernel+initrd': 'bin/app-demo' },
    });
  });
});

describe('the Makefile and the docs follow the table', () => {
  test('every Makefile rule that builds passes a target the table knows, named as the rule is; every target has one', () => {
    const makefile = readFileSync(join(ROOT, 'Makefile'), 'utf8');
    const rules = [
      ...makefile.matchAll(/^([\w-]+): build\n\t\$\(ISOBUILD\) build [^\n]*--target (\S+)/gm),
    ].map(([, rule, target]) => ({ rule: rule!, target: target! }));
    // A pattern that matched nothing would prove nothing: VIC's and osbuilder's rules are there.
    expect(rules.length).toBeGreaterThanOrEqual(TARGETS.length);
    for (const { rule, target } of rules) {
      expect({ rule, known: (TARGETS as readonly string[]).includes(target) }).toEqual({ rule, known: true });
      expect({ rule, target }).toEqual({ rule, target: rule.replace(/-custom$/, '') });
    }
    // And every target has its rule, so `make T` works for each.
    expect(TARGETS.filter((t) => !rules.some((r) => r.target === t))).toEqual([]);
    const phony = makefile.match(/^\.PHONY:((?:[^\n]*\\\n)*[^\n]*)/m)![1]!.split(/[\s\\]+/);
    for (const { rule } of rules) expect(phony).toContain(rule);
  });

  test('docs/cli.md holds the generated targets table (npm run gen:docs writes it)', () => {
    const doc = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8');
    const begin = doc.indexOf(TARGETS_DOC_BEGIN);
    const end = doc.indexOf(TARGETS_DOC_END);
    expect(begin).toBeGreaterThan(0);
    expect(doc.slice(begin + TARGETS_DOC_BEGIN.length, end).trim()).toBe(formatTargetsMarkdown());
  });

  test('README names every target', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const target of TARGETS)
      expect({ target, named: readme.includes(`\`${target}\``) }).toEqual({
        target,
        named: true,
      });
  });
});
