import type { Command } from 'commander';
import { writeEvent } from '../log/events.js';
import { describePlan, makePlan } from '../pipeline/plan.js';
import { defaultBuildOptions, parseTarget } from '../pipeline/build-options.js';
import { MIRROR_ENV } from '../pm/rpm-mirror.js';
import { packageManagerFor } from '../pm/index.js';
import {
  describeSpec,
  describeSpecDetails,
  SPEC_SECTIONS,
  type SettingOrigin,
  type SpecSetting,
} from '../spec/describe-spec.js';
import { loadRepo } from '../spec/load.js';
import type { ResolvedSpec } from '../spec/types.js';
import { cacheRoot, loggerFor, reposDir, type GlobalOptions } from './context.js';
import { describeLock } from './plan.js';

/** The sections `isobuild summary` prints: the spec's, then what the build takes from outside it. */
const SUMMARY_SECTIONS = [...SPEC_SECTIONS, 'build', 'target'] as const;
type SummarySection = (typeof SUMMARY_SECTIONS)[number];
type SummaryOrigin = SettingOrigin | 'command line';

interface SummarySetting {
  readonly section: SummarySection;
  readonly label: string;
  readonly value: string;
  readonly origin: SummaryOrigin;
}

/**
 * `isobuild summary REPO` (mkosi's summary): the resolved settings in sections, each with where
 * it came from; nothing is built. The spec's rows are plan's (spec/describe-spec.ts).
 */
export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description(
      'the resolved settings in sections, with where each came from (spec file, default, environment); builds nothing',
    )
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder')
    .option('-t, --target <target>', 'the target whose outputs are shown', 'bootstrap')
    .action(async (ref: string, flags: { target: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const target = parseTarget(flags.target);
      const spec = await loadRepo(ref, reposDir(globals), loggerFor(globals));
      const settings: SummarySetting[] = [
        ...describeSpec(spec),
        ...describeSpecDetails(spec),
        ...(await describeBuildSettings(spec, globals)),
      ];
      const plan = describePlan(makePlan(spec, target, defaultBuildOptions()));
      settings.push(
        {
          section: 'target',
          label: 'target',
          value: `${plan.target} (flavour ${plan.flavour})`,
          origin: cmd.getOptionValueSource('target') === 'default' ? 'default' : 'command line',
        },
        ...Object.entries(plan.paths).map(([format, path]) => ({
          section: 'target' as const,
          label: format,
          value: path,
          origin: 'default' as const,
        })),
      );
      const sorted = SUMMARY_SECTIONS.flatMap((section) => settings.filter((s) => s.section === section));
      if (globals.json) {
        writeEvent({ type: 'summary', repo: spec.name, settings: sorted });
        return;
      }
      process.stdout.write(formatSummary(sorted));
    });
}

/** What a build of this repo takes from the command line and the environment, not from the spec. */
async function describeBuildSettings(spec: ResolvedSpec, globals: GlobalOptions): Promise<SummarySetting[]> {
  const env = process.env;
  const fromEnv = (name: string): SummaryOrigin => (env[name] ? 'environment' : 'default');
  const rows: SummarySetting[] = [
    {
      section: 'build',
      label: 'repos folder',
      value: reposDir(globals),
      origin: globals.repos ? 'command line' : fromEnv('ISOBUILD_REPOS'),
    },
    { section: 'build', label: 'cache', value: cacheRoot(), origin: fromEnv('ISOBUILD_CACHE') },
    {
      section: 'build',
      label: 'source date epoch',
      value: String(defaultBuildOptions().sourceDateEpoch),
      origin: fromEnv('SOURCE_DATE_EPOCH'),
    },
    {
      section: 'build',
      label: 'cache registry',
      value: env.ISOBUILD_CACHE_REGISTRY || '(none)',
      origin: fromEnv('ISOBUILD_CACHE_REGISTRY'),
    },
  ];
  if (packageManagerFor(spec.packagemanager).checkMirror)
    rows.push({
      section: 'build',
      label: 'mirror',
      value: env[MIRROR_ENV] || "the .repo files' servers",
      origin: fromEnv(MIRROR_ENV),
    });
  const lock = await describeLock(spec);
  if (lock) rows.push({ section: 'build', label: 'lock', value: lock.text, origin: 'repo folder' });
  return rows;
}

/** Sections as headings; in each, label, value and [origin] in columns. */
export function formatSummary(settings: readonly SpecSetting[] | readonly SummarySetting[]): string {
  const labelWidth = Math.max(...settings.map((s) => s.label.length));
  const valueWidth = Math.min(60, Math.max(...settings.map((s) => s.value.length)));
  const out: string[] = [];
  let section: string | undefined;
  for (const s of settings) {
    if (s.section !== section) {
      if (section !== undefined) out.push('');
      out.push(`${s.section}:`);
      section = s.section;
    }
    out.push(`  ${s.label.padEnd(labelWidth)}  ${s.value.padEnd(valueWidth)}  [${s.origin}]`);
  }
  return out.join('\n') + '\n';
}
