// npm run build, after tsc: the CLI bundled into dist/bundle/ (one file plus lazily loaded chunks),
// so that Node 20, which has no module compile cache, loads a handful of files instead of ~350
// modules (about half a second of every command; docs/performance.md, "No-op rebuild").
// dist/ as tsc wrote it stays: tests and scripts import its modules, the library that package.json
// `exports` offers (dist/build/index.js, with tsc's .d.ts) is loaded from it unbundled, and
// dist/cli/main.js runs it when the bundle is missing.
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const outdir = resolve(dist, 'bundle');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // A node_modules installed before esbuild joined the devDependencies: the CLI still works.
  console.warn('bundle: esbuild is not installed (npm ci): the CLI runs unbundled and starts slower');
  process.exit(0);
}

/**
 * Code that finds shipped files relative to its own module (templates/, schemas/, repos/,
 * package.json) keeps doing so: each module's import.meta.url becomes the URL it has in dist/.
 */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist)) return undefined;
      const text = await readFile(args.path, 'utf8');
      const own = `new URL(${JSON.stringify(relative(outdir, args.path))}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', own), loader: 'js' };
    });
  },
};

await esbuild.build({
  entryPoints: { program: resolve(dist, 'cli/program.js') },
  outdir,
  bundle: true,
  // Dynamic imports (the CycloneDX library, handlebars, globby) stay chunks loaded when needed.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Bundled CommonJS packages (ajv, yaml, commander) call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __isobuildRequire } from 'node:module';\nconst require = __isobuildRequire(import.meta.url);",
  },
  // Loaded from node_modules: the CycloneDX library finds its resources from its own __dirname
  // (and is loaded only when an SBOM is written).
  external: ['@cyclonedx/cyclonedx-library'],
  plugins: [keepModuleUrls],
  logLevel: 'warning',
});
