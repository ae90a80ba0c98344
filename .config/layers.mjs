/**
 * The layers of src/, lowest first: the source of truth for `npm run lint`'s layer check
 * (.config/dependency-cruiser.mjs) and for the picture in docs/architecture.md, which a unit test
 * keeps in step with this list. A module may import its own layer or any layer below it, never one
 * above; no import cycle anywhere. Folders are named without the `src/` prefix.
 */
export const LAYERS = [
  {
    name: 'ground',
    why: 'spec-free helpers: errors, files and trees, running commands, logging, paths inside a root',
    folders: ['errors.ts', 'version.ts', 'fs', 'exec', 'log', 'rootfs'],
  },
  {
    name: 'domain',
    why: 'one folder per subject; they may use each other but never the stages or the pipeline',
    folders: [
      'spec',
      'stage',
      'pm',
      'kernel',
      'drivers',
      'image',
      'oci',
      'registry',
      'inventory',
      'report',
      'minimise',
      'tether',
      'microvm',
      'app',
      'hooks',
      'cache',
      'lock',
      'ci',
      'bundle',
    ],
  },
  { name: 'stages', why: 'one module per build stage, built from domain pieces', folders: ['stages'] },
  { name: 'pipeline', why: 'orchestration: plans, keys, runs and exports the stages', folders: ['pipeline'] },
  {
    name: 'build',
    why: 'the build library: whole builds and stage roots as calls, what package.json exports',
    folders: ['build'],
  },
  { name: 'cli', why: 'the commands: parse arguments, call the build library, print', folders: ['cli'] },
];

/**
 * Inside the domain layer, folders that stand one above the other: `upper` may import `lower`,
 * never the reverse (docs/architecture.md). The package managers read the spec; the spec asks
 * them only through the table src/pm/index.ts hands it (src/spec/package-managers.ts).
 */
export const DOMAIN_ORDER = [{ lower: 'spec', upper: 'pm' }];

/** A dependency-cruiser path pattern matching the given folders (or single files) of src/. */
export function pathsOf(folders) {
  const alternatives = folders.map((f) => (f.endsWith('.ts') ? f.replace(/\./g, '\\.') + '$' : f + '/'));
  return `^src/(${alternatives.join('|')})`;
}
