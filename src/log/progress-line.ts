/**
 * What a package manager's output line says about progress: the step it is on (a package being
 * fetched, unpacked, set up or installed; an mmdebstrap phase) and the bytes it reports having
 * downloaded. Lines that say neither give undefined, so the display keeps the last step.
 */
export interface ProgressLine {
  step?: string;
  /** Bytes this line reports as downloaded (added to the stage's running total). */
  bytes?: number;
}

/** apt and dnf print sizes with SI units ("2,757 kB", "31.4 MB"); dnf may say "k" or "M". */
const UNITS: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9 };

export function parseSize(amount: string, unit: string): number | undefined {
  const factor = UNITS[unit.toLowerCase()];
  const n = Number(amount.replace(/,/g, ''));
  return factor === undefined || !Number.isFinite(n) ? undefined : Math.round(n * factor);
}

const PATTERNS: readonly [RegExp, (m: RegExpMatchArray) => ProgressLine][] = [
  // apt: "Get:12 http://mirror/debian bookworm/main amd64 libc6 amd64 2.36-9 [2,757 kB]"
  // (the mirror's address is left out: it is noise on a status line).
  [/^Get:(\d+)\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\S+\s+(\S+)/, (m) => ({ step: `Get:${m[1]} ${m[2]} ${m[3]}` })],
  // apt: "Fetched 31.4 MB in 3s (10.2 MB/s)": the authoritative count of one apt run.
  [
    /^Fetched ([\d.,]+) ([kMG]?B) in /,
    (m) => ({ step: m[0].replace(/ in .*/, ''), bytes: parseSize(m[1]!, m[2]!) }),
  ],
  // dpkg (through apt or mmdebstrap): "Unpacking libc6:amd64 (2.36-9) ..."
  [
    /^(Unpacking|Setting up|Processing triggers for) (.+?)(?: \.\.\.)?$/,
    (m) => ({ step: `${m[1]} ${m[2]}` }),
  ],
  // dnf transaction: "  Installing       : bash-5.1.8-6.el9.x86_64     12/40"
  [
    /^\s*(Installing|Upgrading|Reinstalling|Downgrading|Running scriptlet|Verifying|Cleanup|Erasing|Removing)\s*:\s*(\S+)\s+(\d+\/\d+)\s*$/,
    (m) => ({ step: `${m[1]} ${m[2]} (${m[3]})` }),
  ],
  // dnf download: "(3/40): bash-5.1.8-6.el9.x86_64.rpm   1.2 MB/s | 1.7 MB     00:01"
  [
    /^\((\d+\/\d+)\): (\S+)\s+.*\|\s*([\d.,]+) ?([kMG]?B?)\s+\d\d:\d\d/,
    (m) => ({ step: `Downloading ${m[2]} (${m[1]})`, bytes: parseSize(m[3]!, m[4] || 'B') }),
  ],
  // mmdebstrap phases: "I: downloading packages with apt..."
  [/^I: (.+)$/, (m) => ({ step: m[1]!.replace(/\.\.\.$/, '') })],
];

export function parseProgressLine(raw: string): ProgressLine | undefined {
  const line = raw.replace(/\r?\n$/, '');
  for (const [re, make] of PATTERNS) {
    const m = line.match(re);
    if (m) return make(m);
  }
  return undefined;
}
