import { lstat, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { posix, relative, resolve } from 'node:path';
import { BuildError } from '../errors.js';
import type { StageContext, StageMeta } from '../stage/types.js';
import type { ResolvedSpec } from '../spec/types.js';
import { fixedEnv } from '../minimise/env.js';
import { hostPath, walkInRoot } from '../rootfs/root-path.js';
import { quoteCommand, quoteWord } from '../exec/shell-quote.js';
import { linkInRoot, writeRootFile } from '../rootfs/write-in-root.js';
import { HOST_BUSYBOX } from '../exec/host-tools.js';
import { loadHandlebars } from '../tether/render.js';

/**
 * The app appliance's layer (seed 000): the spec's app files, /app/prerun, run and postrun,
 * and an init that runs them with the seed's kernel command-line knobs. Split in two because
 * the minimise stage must trace the app: `addAppFiles` runs before tracing (the minimise stage
 * calls it), `writeAppLayer` (the tether stage) adds the init, which needs nothing from the
 * root but its own static busybox (and kmod's modprobe only for compressed modules).
 */

/** templates/app/: the init and the /app phase scripts (a cache input of the stages that render them). */
export const TEMPLATES = fileURLToPath(new URL('../../templates/app/', import.meta.url));
export const APP_BUSYBOX = '/usr/lib/isobuild/busybox';
export const APP_PHASES = ['prerun', 'run', 'postrun'] as const;
export type AppPhase = (typeof APP_PHASES)[number];
const MODPROBE_CANDIDATES = ['/usr/sbin/modprobe', '/sbin/modprobe'];

type AppSpec = NonNullable<ResolvedSpec['app']>;

/** What the app layer reads of the spec: part of the inputs of minimise and tether for the app target. */
export interface AppInputs {
  readonly app: AppSpec;
  /** The app files' `src` are relative to it. */
  readonly repoDir: string;
  /** Where the app init goes (/init links to it). */
  readonly init: string;
  /** The fixed environment the workloads ran in (minimise.env over the defaults): the init exports it. */
  readonly env: Record<string, string>;
}

export function appInputsOf(spec: Pick<ResolvedSpec, 'app' | 'repoDir' | 'init' | 'minimise'>): AppInputs {
  if (!spec.app) throw new BuildError('the app target needs an `app` section in the spec');
  return { app: spec.app, repoDir: spec.repoDir, init: spec.init, env: fixedEnv(spec) };
}

/** The app's files in the repo folder: their contents are in the keys of the stages that copy them. */
export function appSourceFiles(app: AppInputs): string[] {
  return [TEMPLATES, ...(app.app.files ?? []).map((f) => resolve(app.repoDir, f.src))];
}

function envLines(env: Record<string, string>): string[] {
  return Object.keys(env)
    .sort()
    .map((k) => `${k}=${quoteWord(env[k] as string)}`);
}

async function render(name: string, data: Record<string, unknown>): Promise<string> {
  const text = await readFile(posix.join(TEMPLATES, name), 'utf8');
  return (await loadHandlebars()).compile(text, { noEscape: true, strict: true })(data);
}

/** The text of /app/<phase> for an argv from the spec. */
export async function renderPhase(app: AppSpec, phase: AppPhase, argv: readonly string[]): Promise<string> {
  return render('phase.sh.hbs', {
    phase,
    cwd: app.cwd ? quoteWord(app.cwd) : '',
    env: envLines(app.env ?? {}),
    argv: quoteCommand(argv),
  });
}

/** The text of the init. */
export async function renderInit(
  app: Pick<AppInputs, 'app' | 'env'>,
  drivers: readonly string[],
  modprobe: string,
): Promise<string> {
  return render('init.sh.hbs', {
    busybox: APP_BUSYBOX,
    env: envLines(app.env),
    drivers: quoteCommand(drivers),
    modprobe: modprobe === APP_BUSYBOX ? `${APP_BUSYBOX} modprobe` : modprobe,
    end: app.app.end ?? 'poweroff',
  });
}

function parseMode(mode: string | undefined, fallback: number): number {
  return mode ? parseInt(mode, 8) : fallback;
}

/**
 * Copies the spec's app files (from the repo folder) into the root and writes /app/prerun,
 * /app/run and /app/postrun. Idempotent: the tether stage calls it again for builds that
 * skip minimise.
 */
export async function addAppFiles(
  ctx: Pick<StageContext, 'rootfs' | 'stage' | 'sourceDateEpoch'>,
  inputs: AppInputs,
): Promise<void> {
  const { app, repoDir } = inputs;
  const epoch = ctx.sourceDateEpoch;
  for (const f of app.files ?? []) {
    const src = resolve(repoDir, f.src);
    if (relative(repoDir, src).startsWith('..'))
      throw new BuildError(`app file ${f.src} is outside the repo folder`, ctx.stage);
    const st = await lstat(src).catch(() => undefined);
    if (!st?.isFile()) throw new BuildError(`app file ${f.src} not found in ${repoDir}`, ctx.stage);
    await writeRootFile(ctx.rootfs, f.dest, await readFile(src), parseMode(f.mode, st.mode & 0o777), epoch);
  }
  for (const phase of APP_PHASES) {
    const argv = app[phase];
    if (argv)
      await writeRootFile(ctx.rootfs, `/app/${phase}`, await renderPhase(app, phase, argv), 0o755, epoch);
  }
}

/**
 * The modprobe the init uses: busybox's, which needs nothing from the root, unless the
 * kernel's modules are compressed (busybox's modprobe may not read them) and the root has kmod.
 */
async function findModprobe(root: string, kernelVersion: string | undefined): Promise<string> {
  const dep = kernelVersion
    ? await readFile(
        hostPath(root, (await walkInRoot(root, `/lib/modules/${kernelVersion}/modules.dep`)).path),
        'utf8',
      ).catch(() => '')
    : '';
  if (!/\.ko\.(xz|zst|gz):/.test(dep)) return APP_BUSYBOX;
  for (const p of MODPROBE_CANDIDATES) if ((await walkInRoot(root, p)).stat) return p;
  return APP_BUSYBOX;
}

/**
 * What the app init takes from the root, so that minimise keeps it: the /app scripts and,
 * when there are drivers to load, modprobe's configuration (and kmod for compressed modules).
 */
export async function appInitRequirements(root: string, meta: StageMeta): Promise<string[]> {
  const paths = ['/app', ...APP_PHASES.map((p) => `/app/${p}`)];
  if (meta.drivers?.length) {
    const modprobe = await findModprobe(root, meta.kernelVersion);
    if (modprobe !== APP_BUSYBOX) paths.push(modprobe);
    paths.push('/etc/modprobe.d', '/lib/modprobe.d');
  }
  return paths;
}

/** Writes the app init at spec.init, /init pointing at it, and the init's busybox. */
export async function writeAppLayer(ctx: StageContext, inputs: AppInputs): Promise<void> {
  await addAppFiles(ctx, inputs);
  const epoch = ctx.sourceDateEpoch;
  const busybox = await readFile(HOST_BUSYBOX).catch(() => {
    throw new BuildError(`${HOST_BUSYBOX} is missing on the host: apt-get install busybox-static`, ctx.stage);
  });
  await writeRootFile(ctx.rootfs, APP_BUSYBOX, busybox, 0o755, epoch);
  const drivers = ctx.meta.drivers ?? [];
  const init = await renderInit(inputs, drivers, await findModprobe(ctx.rootfs, ctx.meta.kernelVersion));
  await writeRootFile(ctx.rootfs, inputs.init, init, 0o755, epoch);
  if (inputs.init !== '/init') {
    await linkInRoot(ctx.rootfs, '/init', inputs.init.slice(1), epoch);
  }
  ctx.logger.info(
    `app layer: ${inputs.init} (/init), /app/{${APP_PHASES.filter((p) => inputs.app[p]).join(',')}}`,
  );
}
