import { resolve } from 'node:path';
import type { LogEvent, Logger } from '../log/logger.js';
import { defaultBuildOptions } from '../pipeline/build-options.js';
import type { Arch } from '../spec/arch.js';
import type { OutputDigest } from '../image/output-digest.js';
import type { RegistryCacheStats } from '../cache/remote/registry-cache.js';
import type { BuildOptions, OutputFormat, StageOutcome, Target } from '../stage/types.js';

/**
 * Where a build reports. `logger` is the CLI's (it prints); a program gives `onEvent` and receives
 * every event `isobuild --json` would print, log lines as `{type: 'log', level, message}`
 * (docs/json.md); with neither the build is silent.
 */
export interface ReportTo {
  logger?: Logger;
  onEvent?: (event: LogEvent) => void;
}

/** The options every build entry point takes (build, buildStages, exportStageImage, lockRepo). */
export interface RepoRequest extends ReportTo {
  /** A repo name under `reposDir`, or a path to a repo folder. */
  repo: string;
  /** Default: ISOBUILD_REPOS, else ./repos, else the repos the package ships. */
  reposDir?: string;
  /** The stage cache's folder. Default: ISOBUILD_CACHE, else ./.isobuild. */
  cacheRoot?: string;
  /** Seconds to wait for another build of the same repo; 0 fails at once. Default 1800. */
  lockTimeout?: number;
}

/** `build(request)`: the fields match `isobuild build`'s flags (docs/cli.md). */
export interface BuildRequest
  extends RepoRequest,
    Partial<
      Pick<
        BuildOptions,
        | 'outputDir'
        | 'force'
        | 'verifyCache'
        | 'tether'
        | 'imageSize'
        | 'formats'
        | 'hookEnv'
        | 'extraPackages'
        | 'listsMaxAge'
        | 'mirror'
      >
    > {
  /** What to build. Default: 'bootstrap'. */
  target?: Target;
  /** The architecture to build for instead of the spec's (`--arch`; docs/arm64.md). */
  arch?: Arch;
  /** Where the target's first output goes, instead of its path under `outputDir`. */
  output?: string;
  /** Write the last stage's root out: a folder, or a .tar/.tar.gz/.tar.zst file. */
  exportTo?: string;
  /** Rebuild every stage (`--no-cache`). */
  noCache?: boolean;
  /** Install exactly the versions in the repo's isobuild.lock (`--locked`). */
  locked?: boolean;
  /** OCI registry repositories to pull stage results from / push them to; default ISOBUILD_CACHE_REGISTRY. */
  cacheFrom?: string;
  cacheTo?: string;
  /** When a stage fails, open a shell in its work root (needs a terminal on stdin). */
  debugShell?: boolean;
  /** Write the HTML report of the first output (`--report`): to this file, or true for `<output>.report.html`. */
  report?: string | true;
  /**
   * A PEM private key (ed25519 or ECDSA P-256) outside the repo folder that signs each output's
   * provenance as a DSSE envelope (`--sign-key`). Default: ISOBUILD_SIGNING_KEY. In no cache key.
   */
  signingKey?: string;
}

/** One output a build wrote. */
export interface BuiltOutput {
  format: OutputFormat;
  path: string;
  digest: OutputDigest;
}

export interface BuildResult {
  repo: string;
  target: Target;
  /** Each output of the target, in the targets table's order (the first is `request.output`'s). */
  outputs: BuiltOutput[];
  /** Where `exportTo` wrote the root. */
  exported?: string;
  /** Where `report` wrote the HTML report. */
  report?: string;
  /** Each stage: built, cached, pulled or skipped, with its key. */
  outcomes: StageOutcome[];
  seconds: number;
  /** What the remote cache pulled and pushed, when one was used. */
  registry?: RegistryCacheStats;
}

/** The build options a request asks for: the defaults (environment included) with its fields on top. */
export function buildOptionsFor(request: RepoRequest & Partial<BuildRequest>): BuildOptions {
  const { cacheRoot, lockTimeout, outputDir, noCache, force, verifyCache, tether } = request;
  const defaults = defaultBuildOptions();
  return {
    ...defaults,
    ...(cacheRoot !== undefined ? { cacheRoot } : {}),
    ...(lockTimeout !== undefined ? { lockTimeout } : {}),
    ...(outputDir !== undefined ? { outputDir } : {}),
    noCache: noCache ?? false,
    force: force ?? false,
    verifyCache: verifyCache ?? false,
    tether: tether ? resolve(tether) : undefined,
    ...(request.imageSize !== undefined ? { imageSize: request.imageSize } : {}),
    ...(request.formats?.length ? { formats: request.formats } : {}),
    ...(request.extraPackages?.length ? { extraPackages: request.extraPackages } : {}),
    ...(request.hookEnv && Object.keys(request.hookEnv).length ? { hookEnv: request.hookEnv } : {}),
    listsMaxAge: request.listsMaxAge,
  };
}
