import { Document } from 'yaml';
import { kernelPreset } from '../kernel/kconfig/index.js';
import type { Target } from '../stage/types.js';
import { DEFAULT_ARCH, type Arch } from '../spec/arch.js';
import type { ResolvedSpec } from '../spec/types.js';

/**
 * The GitHub Actions workflow `isobuild ci` writes: one job per repo and target (bootstrap
 * for every repo, appliance where `packages.appliance` lists packages, app where the spec
 * has an `app` section; firecracker alone for a repo whose kernel boots microVMs only), each
 * on a clean Debian 12 container with Node 20 and `make deps`, the package cache in
 * actions/cache, the stage cache in an OCI registry (pulled always, pushed from branch builds),
 * a TCG boot of the output, the spec's boot tests for the target (JUnit XML uploaded), and the
 * output and its manifest uploaded.
 * Pure: the same specs give the same text, so `isobuild ci --check` can compare bytes.
 */
export interface MatrixJob {
  repo: string;
  target: Extract<Target, 'bootstrap' | 'appliance' | 'app' | 'firecracker'>;
  /** Where the build writes it: an ISO file, or the firecracker folder. */
  output: string;
  /** Set when the spec has boot tests for the target: the job runs `isobuild test`. */
  tests?: true;
  /** Another architecture than amd64 (`isobuild ci --arch`): the job builds with `--arch`. */
  arch?: Arch;
}

export interface WorkflowOptions {
  /**
   * The stage cache repository. Default: `ghcr.io/<owner>/<repo>/isobuild-cache` with the
   * job's GITHUB_TOKEN; another registry takes its login from the ISOBUILD_REGISTRY_USER and
   * ISOBUILD_REGISTRY_TOKEN secrets.
   */
  registry?: string;
}

export const DEFAULT_WORKFLOW_PATH = '.github/workflows/isobuild.yml';

/** A kernel built from a preset for microVMs (no PCI, no disk controller) boots no ISO. */
function bootsMicrovmsOnly(spec: ResolvedSpec): boolean {
  const { kernel } = spec;
  return (
    kernel.kind === 'build' &&
    kernel.config.kind === 'preset' &&
    kernelPreset(kernel.config.name).machine === 'microvm'
  );
}

/**
 * The matrix: for each spec (already loaded for its architecture: `isobuild ci --arch` loads
 * every repo once per architecture, and a repo the rules refuse for one is not in its axis),
 * the targets worth building and booting there.
 */
export function matrixJobs(specs: readonly ResolvedSpec[]): MatrixJob[] {
  const jobs: MatrixJob[] = [];
  const job = (spec: ResolvedSpec, target: MatrixJob['target']): MatrixJob => {
    const arch = spec.arch === DEFAULT_ARCH ? '' : `-${spec.arch}`;
    return {
      repo: spec.name,
      target,
      output: `bin/${spec.name}-${target}${arch}${target === 'firecracker' ? '' : '.iso'}`,
    };
  };
  const order = (a: ResolvedSpec, b: ResolvedSpec) =>
    a.name.localeCompare(b.name) || Number(a.arch !== DEFAULT_ARCH) - Number(b.arch !== DEFAULT_ARCH);
  for (const spec of [...specs].sort(order)) {
    const targets: MatrixJob['target'][] = bootsMicrovmsOnly(spec)
      ? ['firecracker']
      : [
          'bootstrap',
          ...(spec.packages.appliance.length ? ['appliance' as const] : []),
          ...(spec.app ? ['app' as const] : []),
        ];
    for (const target of targets)
      jobs.push({
        ...job(spec, target),
        ...(spec.tests.some((t) => t.target === target) ? { tests: true as const } : {}),
        ...(spec.arch !== DEFAULT_ARCH ? { arch: spec.arch } : {}),
      });
  }
  return jobs;
}

/** A job as `isobuild ci` names it: repo, target, and the architecture when it is not amd64. */
export function jobLabel(j: MatrixJob): string {
  return `${j.repo} ${j.target}${j.arch ? ` ${j.arch}` : ''}`;
}

const HEADER = [
  ' Written by `isobuild ci` from the repo specs in repos/: edit those, then run `isobuild ci` again.',
  ' `isobuild ci --check` fails when this file is out of date. See docs/ci.md.',
].join('\n');

export function renderWorkflow(jobs: readonly MatrixJob[], options: WorkflowOptions = {}): string {
  // The arch axis appears only when `isobuild ci --arch` put another architecture in the matrix.
  const crossArch = jobs.some((j) => j.arch);
  const login = options.registry
    ? {
        ISOBUILD_REGISTRY_USER: '${{ secrets.ISOBUILD_REGISTRY_USER }}',
        ISOBUILD_REGISTRY_TOKEN: '${{ secrets.ISOBUILD_REGISTRY_TOKEN }}',
      }
    : {
        ISOBUILD_REGISTRY_USER: '${{ github.actor }}',
        ISOBUILD_REGISTRY_TOKEN: '${{ secrets.GITHUB_TOKEN }}',
      };
  const nameRegistry = options.registry
    ? []
    : [
        {
          name: 'Name the stage cache repository',
          shell: 'bash',
          // Registry paths are lowercase; GitHub owners and repositories need not be.
          run: 'echo "CACHE_REF=ghcr.io/${GITHUB_REPOSITORY,,}/isobuild-cache" >> "$GITHUB_ENV"\n',
        },
      ];
  const workflow = {
    name: 'isobuild',
    on: { push: { branches: ['main'] }, pull_request: null, workflow_dispatch: null },
    permissions: { contents: 'read', packages: 'write' },
    jobs: {
      build: {
        name: crossArch
          ? "${{ matrix.repo }} ${{ matrix.target }} ${{ matrix.arch || 'amd64' }}"
          : '${{ matrix.repo }} ${{ matrix.target }}',
        'runs-on': 'ubuntu-latest',
        'timeout-minutes': 90,
        // Root, mounts and loop devices: the build runs as it does on a Debian host.
        container: { image: 'debian:12', options: '--privileged' },
        strategy: { 'fail-fast': false, matrix: { include: jobs.map((j) => ({ ...j })) } },
        env: {
          REPO: '${{ matrix.repo }}',
          TARGET: '${{ matrix.target }}',
          OUTPUT: '${{ matrix.output }}',
          ...(crossArch ? { ARCH: '${{ matrix.arch }}' } : {}),
          ...(options.registry ? { CACHE_REF: options.registry } : {}),
          ...login,
        },
        steps: [
          { uses: 'actions/checkout@v4' },
          { uses: 'actions/setup-node@v4', with: { 'node-version': 20 } },
          { name: 'Install host tools and npm packages', run: 'make deps' },
          {
            name: 'Package cache',
            uses: 'actions/cache@v4',
            with: {
              path: '.isobuild/package-cache',
              key: "isobuild-packages-${{ matrix.repo }}-${{ hashFiles(format('repos/{0}/**', matrix.repo)) }}",
              'restore-keys': 'isobuild-packages-${{ matrix.repo }}-\n',
            },
          },
          ...nameRegistry,
          {
            name: 'Build (stages from the registry where it has them)',
            shell: 'bash',
            run: [
              'cache=(--cache-from "$CACHE_REF")',
              '# Pull requests read the shared stages; branch builds also add theirs.',
              'if [ "$GITHUB_EVENT_NAME" != pull_request ]; then cache+=(--cache-to "$CACHE_REF"); fi',
              crossArch
                ? 'npx isobuild build "$REPO" --target "$TARGET" ${ARCH:+--arch "$ARCH"} --output "$OUTPUT" "${cache[@]}"'
                : 'npx isobuild build "$REPO" --target "$TARGET" --output "$OUTPUT" "${cache[@]}"',
              '',
            ].join('\n'),
          },
          {
            name: 'Boot it under TCG and run a command',
            run: 'npx isobuild run "$OUTPUT" --accel tcg -- uname -r',
          },
          {
            name: "Run the spec's boot tests (isobuild test, cached build)",
            if: '${{ matrix.tests }}',
            run: 'npx isobuild test "$REPO" --target "$TARGET" --junit "test-results/$REPO-$TARGET.xml"',
          },
          {
            name: 'Upload the test results (JUnit XML)',
            if: '${{ always() && matrix.tests }}',
            uses: 'actions/upload-artifact@v4',
            with: {
              name: 'test-results-${{ matrix.repo }}-${{ matrix.target }}',
              path: 'test-results/',
              'if-no-files-found': 'ignore',
            },
          },
          {
            name: 'Upload the output and its manifest',
            uses: 'actions/upload-artifact@v4',
            with: {
              name: '${{ matrix.repo }}-${{ matrix.target }}',
              path: '${{ env.OUTPUT }}\n${{ env.OUTPUT }}.manifest.json\n',
              'if-no-files-found': 'error',
            },
          },
        ],
      },
    },
  };
  const doc = new Document(workflow);
  doc.commentBefore = HEADER;
  return doc.toString({ lineWidth: 0, nullStr: '' });
}
