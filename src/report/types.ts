/**
 * What the HTML report shows, as plain data: the renderer (render-html.ts) writes the summary
 * from it and inlines it for the page's script (templates/report/report.js), which draws the
 * treemap and the timeline. Every field is JSON; nothing here knows about HTML.
 */

/**
 * Who put a file into the root. `kind` is open: the page colours the kinds it knows (package,
 * kernel, init-layer, hook, other) and gives any other kind a colour of its own, so a new owner
 * (a hook, once the manifest records files by hook) needs no change to the page.
 */
export interface FileOwner {
  readonly kind: string;
  /** The package's name, the hook's file name, `linux 6.1.0-...`: what the treemap labels. */
  readonly name: string;
}

/** How a file or package compares with the build given by `--against`. */
export type DiffMark = 'added' | 'changed';

/** One node of the size tree: an owner, a folder inside it or a file (no children). */
export interface SizeNode {
  readonly name: string;
  /** Bytes: a file's size, or the sum of its children's. */
  readonly size: number;
  readonly children?: readonly SizeNode[];
  /** Set on the top level (one node per owner). */
  readonly owner?: FileOwner;
  /** On the top level: the SBOM package this owner is (a package, or the kernel's package). */
  readonly package?: string;
  readonly diff?: DiffMark;
}

/** One row of the contents table: an SBOM package with its bytes in the output's root. */
export interface PackageRow {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  /** SPDX-ish names from the package's copyright file; empty when it says none. */
  readonly licences: readonly string[];
  /** Bytes of its files in the output's root (0: none of them is in it, e.g. a small initrd). */
  readonly size: number;
  readonly files: number;
  readonly diff?: DiffMark;
}

/** One command a stage ran, from the stage's log. */
export interface CommandSpan {
  readonly command: string;
  /** Seconds after the stage's first log line. */
  readonly start: number;
  readonly seconds: number;
  readonly exit: string;
}

export interface StageSpan {
  readonly stage: string;
  readonly key: string;
  /**
   * In the build that last wrote this output: built, hit (the cache's), pulled (a registry's),
   * skipped (not needed); unknown when no record of that build is in the cache.
   */
  readonly status: 'built' | 'hit' | 'pulled' | 'skipped' | 'unknown';
  /** Seconds that build spent on it (a cached stage: the lookup). */
  readonly seconds: number;
  /** Seconds the stage took when it was built (its cache entry's log), when the log is at hand. */
  readonly builtSeconds?: number;
  readonly commands: readonly CommandSpan[];
}

/**
 * A limit the report marks (the spec's budgets: issue 27's second part). Filled by whoever checks
 * budgets; the report only shows them: over when `actual > limit`. Sizes in bytes, times in seconds.
 */
export interface BudgetRow {
  readonly what: string;
  readonly unit: 'bytes' | 'seconds';
  readonly limit: number;
  readonly actual: number;
}

export interface DiffSummary {
  /** The other output's name and repo. */
  readonly against: { readonly name: string; readonly repo: string };
  readonly packages: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly string[];
  };
  readonly files: {
    readonly added: number;
    readonly removed: number;
    readonly changed: number;
    /** Bytes of the root's files: this output's minus the other's. */
    readonly sizeDelta: number;
  };
  /** `isobuild diff`'s last line: the first stage whose inputs differ, or why none does. */
  readonly stages: string;
}

export interface ReportData {
  readonly title: string;
  readonly repo: string;
  readonly target: string;
  readonly output: {
    readonly name: string;
    readonly size: number;
    readonly sha256: string;
    readonly format: string;
  };
  readonly distro: string;
  readonly kernel?: string;
  readonly generator: string;
  /** Bytes of the root's files, and how many files. */
  readonly rootSize: number;
  readonly rootFiles: number;
  readonly tree: SizeNode;
  readonly packages: readonly PackageRow[];
  readonly stages: readonly StageSpan[];
  readonly diff?: DiffSummary;
  readonly budgets?: readonly BudgetRow[];
  /** Why a part is missing or partial (owners unknown, no logs in this cache...). */
  readonly notes: readonly string[];
}
