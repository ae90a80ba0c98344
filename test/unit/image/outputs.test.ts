import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError, UsageError } from '../../../src/errors.js';
import { checkOutputFormats, OUTPUT_WRITERS, writeOutputs } from '../../../src/image/outputs.js';
import type { BuildPlan } from '../../../src/stage/types.js';

describe('output writers', () => {
  let dir: string;
  let artifacts: string;
  let plan: BuildPlan;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-outputs-'));
    artifacts = join(dir, 'artifacts');
    await mkdir(artifacts);
    for (const f of ['vmlinuz', 'initrd.img', 'cmdline', 'image.iso'])
      await writeFile(join(artifacts, f), `${f}\n`);
    plan = {
      spec: { name: 'tiny' },
      // The app target writes both formats (an ISO and a kernel+initrd folder).
      target: 'app',
      outputs: ['iso', 'kernel+initrd'],
      options: { outputDir: join(dir, 'bin') },
    } as unknown as BuildPlan;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes every format to the target's default place", async () => {
    const written = await writeOutputs(plan, { artifacts });
    expect(written).toEqual([join(dir, 'bin/app-tiny.iso'), join(dir, 'bin/app-tiny')]);
    expect(await readFile(written[0]!, 'utf8')).toBe('image.iso\n');
    expect((await readdir(written[1]!)).sort()).toEqual(['cmdline', 'initrd.img', 'vmlinuz']);
    expect(await readdir(join(dir, 'bin'))).toEqual(expect.arrayContaining(['app-tiny.iso', 'app-tiny']));
    expect(await readdir(join(dir, 'bin'))).toHaveLength(2);
  });

  it('replaces a previous output, and honours given destinations', async () => {
    const iso = join(dir, 'out/my.iso');
    const folder = join(dir, 'out/k');
    await writeOutputs(plan, { artifacts }, { iso, 'kernel+initrd': folder });
    await writeFile(join(artifacts, 'initrd.img'), 'new initrd\n');
    await writeOutputs(plan, { artifacts }, { iso, 'kernel+initrd': folder });
    expect(await readFile(join(folder, 'initrd.img'), 'utf8')).toBe('new initrd\n');
    expect((await readdir(join(dir, 'out'))).sort()).toEqual(['k', 'my.iso']);
  });

  it('leaves an output file that already holds the same bytes; replaces one that differs', async () => {
    const iso = join(dir, 'out/my.iso');
    await writeOutputs(plan, { artifacts }, { iso });
    const first = await stat(iso);
    await writeOutputs(plan, { artifacts }, { iso });
    expect((await stat(iso)).ino).toBe(first.ino);
    // Same size, other bytes: copied again.
    await writeFile(join(artifacts, 'image.iso'), 'IMAGE.ISO\n');
    await writeOutputs(plan, { artifacts }, { iso });
    expect(await readFile(iso, 'utf8')).toBe('IMAGE.ISO\n');
  });

  it('refuses to replace a folder holding other files, and leaves no partial output', async () => {
    const folder = join(dir, 'mine');
    await mkdir(folder);
    await writeFile(join(folder, 'precious.txt'), 'keep me');
    await expect(OUTPUT_WRITERS['kernel+initrd'].write({ artifacts }, folder, plan)).rejects.toThrow(
      UsageError,
    );
    expect(await readdir(folder)).toEqual(['precious.txt']);
    expect(await readdir(dir)).toEqual(expect.not.arrayContaining([expect.stringMatching(/^\./)]));
  });

  it('fails with the missing artifact named, writing nothing', async () => {
    await rm(join(artifacts, 'cmdline'));
    const dest = join(dir, 'k');
    await expect(OUTPUT_WRITERS['kernel+initrd'].write({ artifacts }, dest, plan)).rejects.toThrow(
      BuildError,
    );
    await expect(OUTPUT_WRITERS['kernel+initrd'].write({ artifacts }, dest, plan)).rejects.toThrow(
      /cmdline is missing/,
    );
    expect((await readdir(dir)).sort()).toEqual(['artifacts']);
  });

  it('rejects unknown formats', () => {
    expect(checkOutputFormats(['iso'])).toEqual(['iso']);
    expect(() => checkOutputFormats(['iso', 'qcow3'])).toThrow(/unknown output format qcow3/);
  });
});
