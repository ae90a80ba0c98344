import { DOMAIN_ORDER, LAYERS, pathsOf } from './layers.mjs';

/** One rule per layer: nothing in it imports a layer above it. */
const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-from-${layer.name}`,
  comment: `${layer.name} may not import ${LAYERS.slice(i + 1)
    .map((l) => l.name)
    .join(', ')} (docs/architecture.md)`,
  severity: 'error',
  from: { path: pathsOf(layer.folders) },
  to: { path: pathsOf(LAYERS.slice(i + 1).flatMap((l) => l.folders)) },
}));

/** One rule per pair of domain folders that stand one above the other. */
const domainOrder = DOMAIN_ORDER.map(({ lower, upper }) => ({
  name: `${lower}-below-${upper}`,
  comment: `${lower}/ may not import ${upper}/ (docs/architecture.md)`,
  severity: 'error',
  from: { path: pathsOf([lower]) },
  to: { path: pathsOf([upper]) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...upward,
    ...domainOrder,
    {
      name: 'no-circular',
      comment: 'an import cycle ties modules that should stand apart (docs/architecture.md)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unlayered',
      comment: 'every folder of src/ belongs to a layer in .config/layers.mjs',
      severity: 'error',
      from: { path: '^src/', pathNot: pathsOf(LAYERS.flatMap((l) => l.folders)) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.generated\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
