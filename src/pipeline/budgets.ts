import { readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheEntry, CacheLayout } from '../cache/cache.js';
import { BudgetError, type BudgetContributor } from '../errors.js';
import { measureTree } from '../fs/measure-tree.js';
import { firstOwners } from '../inventory/types.js';
import { ARTIFACTS } from '../image/artifacts.js';
import type { Logger } from '../log/logger.js';
import { packageManagerFor } from '../pm/index.js';
import { standalonePmContext } from '../pm/pm-context.js';
import type { SizeBudgetName } from '../spec/types.js';
import type { BuildPlan, StageName } from '../stage/types.js';

/** What each size budget measures, and the stage that makes it (the build stops right after it). */
const SIZE_BUDGETS: Record<
  SizeBudgetName,
  { stage: StageName; what: string; measure: (entry: CacheEntry) => Promise<number> }
> = {
  initrd: {
    stage: 'initrd',
    what: 'the initrd',
    measure: async (e) => (await stat(join(e.artifacts, ARTIFACTS.initrd))).size,
  },
  iso: {
    stage: 'iso',
    what: 'the ISO',
    measure: async (e) => (await stat(join(e.artifacts, ARTIFACTS.iso))).size,
  },
  rootfs: {
    stage: 'staging',
    what: 'the staged root',
    measure: async (e) => (await measureTree(e.rootfs)).bytes,
  },
};

/**
 * The spec's size budgets beside what this build measured, for the report to mark: each budget
 * whose stage ran (built or cached) in `plan`, in bytes.
 */
export async function sizeBudgetRows(
  plan: BuildPlan,
  entries: readonly (CacheEntry | undefined)[],
): Promise<{ what: string; unit: 'bytes'; limit: number; actual: number }[]> {
  const rows = [];
  for (const name of Object.keys(SIZE_BUDGETS) as SizeBudgetName[]) {
    const budget = SIZE_BUDGETS[name];
    const limit = plan.spec.budget[name];
    const entry = entries[plan.stages.findIndex((s) => s.name === budget.stage)];
    if (limit === undefined || !entry) continue;
    const actual = await budget.measure(entry).catch(() => undefined);
    if (actual !== undefined)
      rows.push({ what: `budget.${name}: ${budget.what}`, unit: 'bytes' as const, limit, actual });
  }
  return rows;
}

/** How many contributors an over-budget error names. */
const SHOWN = 10;
const ISOBUILD_PATHS = ['/usr/lib/isobuild/', '/etc/isobuild/', '/init'];

const MiB = 1024 * 1024;
export const formatMiB = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/**
 * The size budget `stage` makes, checked against its entry (built now, or found in the cache: a
 * budget is not in any key, so lowering it must still fail a cached build). Over it: a
 * BudgetError naming the biggest contributors, before any output is written.
 */
export async function checkSizeBudget(
  plan: BuildPlan,
  stage: StageName,
  entry: CacheEntry,
  earlier: readonly (CacheEntry | undefined)[],
  layout: CacheLayout,
  logger: Logger,
): Promise<void> {
  for (const name of Object.keys(SIZE_BUDGETS) as SizeBudgetName[]) {
    const budget = SIZE_BUDGETS[name];
    const limit = plan.spec.budget[name];
    if (budget.stage !== stage || limit === undefined) continue;
    // A target whose stage makes no such file (a microVM's staging has no initrd) has nothing to measure.
    const actual = await budget.measure(entry).catch(() => undefined);
    if (actual === undefined) continue;
    if (actual <= limit) {
      logger.debug(`budget.${name}: ${budget.what} is ${formatMiB(actual)} of ${formatMiB(limit)}`);
      continue;
    }
    const contributors = await biggestContributors(
      plan,
      entry,
      earlier,
      layout,
      { over: actual - limit, actual, withBoot: name === 'iso' },
      logger,
    );
    const table = contributors
      .map(
        (c) =>
          `    ${c.name.padEnd(40)} ${formatMiB(c.bytes).padStart(10)}   shrink by ${formatMiB(c.shrinkBytes)}`,
      )
      .join('\n');
    throw new BudgetError(
      `${budget.what} is ${formatMiB(actual)}, over budget.${name} (${formatMiB(limit)}) by ${formatMiB(actual - limit)}` +
        (contributors.length
          ? `\n  the ${contributors.length} biggest contributors (files as the root holds them, uncompressed), and what each must lose if all shrink alike:\n${table}`
          : '') +
        `\n  drop packages, use modules: drivers, or raise budget.${name} in ${plan.spec.specFile}`,
      { budget: name, limit, actual, contributors },
      stage,
    );
  }
}

/**
 * The root's files grouped by owner: the package that installed them (the deepest earlier root
 * that still has a package database says which), isobuild's init layer, the boot files, or the
 * top folders of what no package owns. Each one's share of the overshoot is its size times the
 * fraction the output must lose.
 */
async function biggestContributors(
  plan: BuildPlan,
  entry: CacheEntry,
  earlier: readonly (CacheEntry | undefined)[],
  layout: CacheLayout,
  { over, actual, withBoot }: { over: number; actual: number; withBoot: boolean },
  logger: Logger,
): Promise<BudgetContributor[]> {
  const owners = canonicalOwners(
    await ownersFrom(plan, [...earlier, entry], layout, logger),
    await topLinks(entry.rootfs),
  );
  // A hard-linked file counts once, for its package when one of its names is a package's (the
  // tether's installs link the root's libraries under /usr/lib/isobuild).
  const inodes = new Map<string, { bytes: number; owner: string; owned: boolean }>();
  const isobuild = [...ISOBUILD_PATHS, plan.spec.init];
  await measureTree(entry.rootfs, (path, st) => {
    const pkg = owners.get(path);
    const owner =
      pkg ??
      (isobuild.some((p) => path === p || path.startsWith(p))
        ? 'isobuild init layer'
        : `(no package) ${path.split('/').slice(0, 3).join('/')}`);
    const id = `${st.dev}:${st.ino}`;
    const seen = inodes.get(id);
    if (!seen || (pkg && !seen.owned)) inodes.set(id, { bytes: st.size, owner, owned: Boolean(pkg) });
  });
  const sizes = new Map<string, number>();
  const add = (name: string, bytes: number) => sizes.set(name, (sizes.get(name) ?? 0) + bytes);
  for (const { bytes, owner } of inodes.values()) add(owner, bytes);
  if (withBoot) await measureTree(entry.bootfs, (_path, st) => add('/boot: kernel and boot loader', st.size));
  const fraction = over / actual;
  return [...sizes]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, SHOWN)
    .map(([name, bytes]) => ({ name, bytes, shrinkBytes: Math.ceil(bytes * fraction) }));
}

/** path → package, from the deepest of `entries` whose root has a package database. */
async function ownersFrom(
  plan: BuildPlan,
  entries: readonly (CacheEntry | undefined)[],
  layout: CacheLayout,
  logger: Logger,
): Promise<ReadonlyMap<string, string>> {
  const pm = packageManagerFor(plan.spec.packagemanager);
  for (let i = entries.length - 1; i >= 0; i--) {
    const rootfs = entries[i]?.rootfs;
    if (!rootfs) continue;
    const ctx = standalonePmContext({
      spec: plan.spec,
      rootfs,
      pkgCacheDir: layout.packages,
      tmpDir: layout.tmp,
      stage: 'budget',
      logger,
    });
    const files = await pm.listPackageFiles(ctx);
    if (files) return firstOwners(files);
  }
  return new Map();
}

/** The root's top-level links into /usr (merged /usr: bin → usr/bin), as "/bin" → "/usr/bin". */
async function topLinks(root: string): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const target = await readlink(join(root, name)).catch(() => undefined);
    if (target && !target.startsWith('/') && !target.includes('..')) links.set(`/${name}`, `/${target}`);
  }
  return links;
}

/** Package databases list /bin/bash where a merged-/usr root holds /usr/bin/bash: map to the latter. */
function canonicalOwners(owners: ReadonlyMap<string, string>, links: ReadonlyMap<string, string>) {
  const out = new Map<string, string>();
  for (const [path, pkg] of owners) {
    const top = `/${path.split('/')[1]}`;
    const moved = links.get(top);
    out.set(moved ? moved + path.slice(top.length) : path, pkg);
  }
  return out;
}
