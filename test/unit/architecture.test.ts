import { execa } from 'execa';
import { cp, mkdtemp, readdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './cli/run-cli.js';

interface Layer {
  readonly name: string;
  readonly folders: readonly string[];
}

/** The rule file's layer list (.config/layers.mjs), lowest first. */
async function ruleLayers(): Promise<Layer[]> {
  const mod = (await import(pathToFileURL(join(ROOT, '.config/layers.mjs')).href)) as { LAYERS: Layer[] };
  return mod.LAYERS;
}

/** The picture in docs/architecture.md, turned lowest first like the rule file's list. */
async function pictureLayers(): Promise<Layer[]> {
  const doc = await readFile(join(ROOT, 'docs/architecture.md'), 'utf8');
  const match = /<!-- layers picture[^>]*-->\s*```text\n([\s\S]*?)```\s*<!-- end of layers picture -->/.exec(
    doc,
  );
  if (!match) throw new Error('docs/architecture.md has no layers picture between its markers');
  return match[1]!
    .trim()
    .split('\n')
    .map((line) => {
      const [name, folders] = line.split('|').map((s) => s.trim());
      return { name: name!, folders: folders!.split(/\s+/) };
    })
    .reverse();
}

describe('the layers', () => {
  test('the picture in docs/architecture.md shows the rule file’s layers, in order, with the same folders', async () => {
    const rules = await ruleLayers();
    const picture = await pictureLayers();
    expect(picture.map((l) => l.name)).toEqual(rules.map((l) => l.name));
    for (const [i, layer] of rules.entries())
      expect([...picture[i]!.folders].sort()).toEqual([...layer.folders].sort());
  });

  test('every folder and top-level file of src/ sits in exactly one layer', async () => {
    const placed = (await ruleLayers()).flatMap((l) => l.folders);
    expect(new Set(placed).size).toBe(placed.length);
    const entries = (await readdir(join(ROOT, 'src'), { withFileTypes: true }))
      .filter((e) => e.isDirectory() || e.name.endsWith('.ts'))
      .map((e) => e.name)
      .filter((n) => n !== 'tsconfig.json');
    expect(entries.filter((n) => !placed.includes(n))).toEqual([]);
  });

  test('`npm run lint` runs the layer check', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.lint).toContain('npm run lint:layers');
    expect(pkg.scripts['lint:layers']).toContain('.config/dependency-cruiser.mjs');
  });

  describe('in a scratch copy of the tree', () => {
    let scratch: string;
    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'isobuild-layers-'));
      for (const part of ['src', '.config', 'tsconfig.json', 'package.json'])
        await cp(join(ROOT, part), join(scratch, part), { recursive: true });
      await symlink(join(ROOT, 'node_modules'), join(scratch, 'node_modules'));
    });
    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
    });

    // No colour: under CI=true depcruise colours its report, which would split the names matched below.
    const lintLayers = () =>
      execa('npm', ['run', 'lint:layers'], {
        cwd: scratch,
        reject: false,
        all: true,
        env: { FORCE_COLOR: '0', NO_COLOR: '1' },
      });

    test('today’s tree passes', async () => {
      const r = await lintLayers();
      expect(r.all).toContain('no dependency violations found');
      expect(r.exitCode).toBe(0);
    });

    test('an import from a lower layer to a higher one fails', async () => {
      const file = join(scratch, 'src/fs/reach-up.ts');
      await writeFile(file, "export { runPipeline } from '../pipeline/run-pipeline.js';\n");
      try {
        const r = await lintLayers();
        expect(r.exitCode).not.toBe(0);
        expect(r.all).toMatch(
          /no-upward-from-ground: src\/fs\/reach-up\.ts → src\/pipeline\/run-pipeline\.ts/,
        );
      } finally {
        await unlink(file);
      }
    });

    test('an import from spec/ to pm/ fails: the package managers stand above the spec', async () => {
      const file = join(scratch, 'src/spec/reach-pm.ts');
      await writeFile(file, "export { PACKAGE_MANAGERS } from '../pm/index.js';\n");
      try {
        const r = await lintLayers();
        expect(r.exitCode).not.toBe(0);
        expect(r.all).toMatch(/spec-below-pm: src\/spec\/reach-pm\.ts → src\/pm\/index\.ts/);
      } finally {
        await unlink(file);
      }
    });

    test('an import cycle fails, even inside one layer', async () => {
      const a = join(scratch, 'src/log/cycle-a.ts');
      const b = join(scratch, 'src/log/cycle-b.ts');
      await writeFile(a, "import type { B } from './cycle-b.js';\nexport type A = B | 'a';\n");
      await writeFile(b, "import type { A } from './cycle-a.js';\nexport type B = A | 'b';\n");
      try {
        const r = await lintLayers();
        expect(r.exitCode).not.toBe(0);
        expect(r.all).toMatch(/no-circular: src\/log\/cycle-a\.ts/);
      } finally {
        await unlink(a);
        await unlink(b);
      }
    });
  });
});
