import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { BuildError } from '../errors.js';
import { tail, type RunOptions, type RunResult } from '../exec/run.js';
import { LOCAL_TAG } from './fetch-image.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export interface DockerfileBuild {
  dockerfile: string;
  /** The build context: the repo folder. */
  context: string;
  /** Where the built image is written as an OCI layout. */
  layout: string;
  /** Scratch for buildah's own storage; removed with the stage. */
  tmpDir: string;
  sourceDateEpoch: number;
}

const IMAGE_NAME = 'localhost/isobuild-dockerfile';

/**
 * buildah's global options: a private vfs store in the stage's scratch folder, so nothing is
 * left in the host's image store and two builds never share state.
 */
function storeArgs(tmpDir: string): string[] {
  return [
    '--storage-driver',
    'vfs',
    '--root',
    join(tmpDir, 'buildah', 'root'),
    '--runroot',
    join(tmpDir, 'buildah', 'run'),
  ];
}

/**
 * Build a Dockerfile with buildah (chroot isolation: no daemon, no network namespace setup;
 * rootless when isobuild is not root) and write the result as an OCI layout. `--timestamp`
 * pins the layers' and config's dates to SOURCE_DATE_EPOCH.
 */
export async function buildDockerfile(build: DockerfileBuild, run: Runner): Promise<void> {
  const store = storeArgs(build.tmpDir);
  const env = { TMPDIR: join(build.tmpDir, 'buildah') };
  await mkdir(env.TMPDIR, { recursive: true });
  const res = await run(
    'buildah',
    [
      ...store,
      'build',
      '--isolation',
      'chroot',
      '--timestamp',
      String(build.sourceDateEpoch),
      '--layers=false',
      '-f',
      build.dockerfile,
      '-t',
      IMAGE_NAME,
      build.context,
    ],
    { env, cwd: build.context, allowFailure: true, tailLines: 30 },
  );
  if (res.exitCode !== 0) throw dockerfileError(build, res);
  await run('buildah', [...store, 'push', '--quiet', IMAGE_NAME, `oci:${build.layout}:${LOCAL_TAG}`], {
    env,
  });
}

/** Name the Dockerfile and the step that failed, with the step's output. */
function dockerfileError(build: DockerfileBuild, res: RunResult): BuildError {
  const file = relative(build.context, build.dockerfile) || build.dockerfile;
  const steps = [...res.all.matchAll(/^STEP (\d+\/\d+): (.*)$/gm)];
  const step = steps.at(-1);
  const failed = /error building at STEP "([^"]*)": (.*)/.exec(res.all);
  const where = step ? `step ${step[1]} (${failed?.[1] ?? step[2]})` : 'before its first step';
  const output = step ? res.all.slice(step.index! + step[0].length) : res.all;
  return new BuildError(
    `Dockerfile ${file} failed at ${where}${failed ? `: ${failed[2]}` : ''}\n  $ ${res.command}\n${tail(
      output,
      15,
    )
      .split('\n')
      .map((l) => `  | ${l}`)
      .join('\n')}`,
  );
}
