import type { ProgressLine } from './progress-line.js';

/**
 * A stage's download and install progress, folded from its package managers' lines: one count
 * of bytes fetched, packages done of the transaction's total, and a percent and time left
 * while apt downloads what it said it needs.
 *
 * apt repeats itself: within one mmdebstrap transaction the same "Fetched X" line may come twice
 * with nothing between, and the second one is not counted; a run's Get sizes stand in for its
 * Fetched line until it comes, and are replaced by it.
 */
export interface ProgressFigures {
  /** Bytes downloaded so far in the stage. */
  bytes?: number;
  packagesDone?: number;
  packagesTotal?: number;
  /** Of the download apt announced (Need to get), else of the packages to set up. */
  percent?: number;
  /** Seconds left of the download, at the rate so far; only once the rate means something. */
  etaSeconds?: number;
}

/** Below these the rate says little: the first Get lines arrive in a burst. */
const ETA_MIN_MS = 3000;
const ETA_MIN_FRACTION = 0.05;

export class ProgressTally {
  /** Bytes of finished apt runs and of dnf's downloads. */
  private done = 0;
  /** The apt run under way: its Get lines (by number) and sizes, since the last Fetched. */
  private gets = new Map<number, number>();
  private runOpen = false;
  /** The last Fetched line's bytes, until a Get or Need to get line starts another run. */
  private lastFetched?: number;
  private need?: number;
  private needAt?: number;
  private total?: number;
  /** Packages fetched (Get lines of packages) and set up, in the current transaction. */
  private fetchedPackages = 0;
  private setUp = 0;
  private phase: 'download' | 'install' | undefined;
  private count?: { done: number; total: number };

  /** Folds one line in; true when a figure changed. */
  add(p: ProgressLine, now: number): boolean {
    let moved = false;
    if (p.installs !== undefined) {
      this.total = p.installs;
      this.fetchedPackages = 0;
      this.setUp = 0;
      this.count = undefined;
      moved = true;
    }
    if (p.need !== undefined) {
      this.openRun();
      this.need = p.need;
      this.needAt = now;
      this.phase = p.need > 0 ? 'download' : 'install';
      moved = true;
    }
    if (p.get) {
      // Get:1 again after a Fetched: the next apt run.
      if (!this.runOpen || (p.get.n === 1 && this.gets.has(1))) this.openRun();
      if (!this.gets.has(p.get.n)) {
        this.gets.set(p.get.n, p.get.bytes ?? 0);
        if (p.get.package) this.fetchedPackages++;
        moved = true;
      }
    }
    if (p.fetched !== undefined && (this.runOpen || this.lastFetched !== p.fetched)) {
      this.done += p.fetched;
      this.closeRun();
      this.lastFetched = p.fetched;
      moved = true;
    }
    if (p.bytes !== undefined) {
      this.done += p.bytes;
      moved = true;
    }
    if (p.setUp) {
      this.setUp++;
      this.phase = 'install';
      moved = true;
    }
    if (p.count) {
      this.count = p.count;
      moved = true;
    }
    return moved;
  }

  figures(now: number): ProgressFigures {
    const running = [...this.gets.values()].reduce((a, b) => a + b, 0);
    const bytes = this.done + running;
    const out: ProgressFigures = {};
    if (bytes > 0) out.bytes = bytes;
    if (this.count) {
      out.packagesDone = this.count.done;
      out.packagesTotal = this.count.total;
      out.percent = Math.floor((100 * this.count.done) / this.count.total);
      return out;
    }
    if (this.total === undefined) return out;
    out.packagesTotal = this.total;
    if (this.phase === 'download' && this.runOpen && this.need) {
      out.packagesDone = Math.min(this.fetchedPackages, this.total);
      // A Get line starts a download: capped below 100 until apt says Fetched.
      const fraction = Math.min(running / this.need, 0.99);
      out.percent = Math.floor(100 * fraction);
      const elapsed = now - (this.needAt ?? now);
      if (elapsed >= ETA_MIN_MS && fraction >= ETA_MIN_FRACTION)
        out.etaSeconds = Math.ceil(((1 - fraction) * elapsed) / fraction / 1000);
    } else {
      out.packagesDone = Math.min(this.setUp, this.total);
      out.percent = this.total ? Math.floor((100 * out.packagesDone) / this.total) : 100;
    }
    return out;
  }

  private openRun() {
    // Sizes of a run that never said Fetched (apt stopped) are kept as what it announced.
    this.done += [...this.gets.values()].reduce((a, b) => a + b, 0);
    this.gets.clear();
    this.runOpen = true;
    this.lastFetched = undefined;
  }

  private closeRun() {
    this.gets.clear();
    this.runOpen = false;
    if (this.phase === 'download') this.phase = 'install';
  }
}
