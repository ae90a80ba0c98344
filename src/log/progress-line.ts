/**
 * What a package manager's output line says about progress: the step it is on (a package being
 * fetched, unpacked, set up or installed; an mmdebstrap phase) and the bytes it reports having
 * downloaded. Lines that say neither give undefined, so the display keeps the last step.
 */
export interface ProgressLine {
  step?: string;
  /** Bytes this line reports as downloaded, no total to follow (dnf's per-package lines). */
  bytes?: number;
  /** apt "Get:N ... [size]": download N of this apt run starts; `package` unless an index file. */
  get?: { n: number; bytes?: number; package: boolean };
  /** apt "Fetched X in ...": this apt run downloaded X bytes in all. */
  fetched?: number;
  /** apt "Need to get X of archives" (or "X/Y": X still to download). */
  need?: number;
  /** apt "N upgraded, M newly installed, ...": packages this apt run installs (N + M). */
  installs?: number;
  /** dpkg "Setting up P": one package done. */
  setUp?: boolean;
  /** dnf's "(3/40)" and "12/40": this many of a known total. */
  count?: { done: number; total: number };
}

/** apt and dnf print sizes with SI units ("2,757 kB", "31.4 MB"); dnf may say "k" or "M". */
const UNITS: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9 };

export function parseSize(amount: string, unit: string): number | undefined {
  const factor = UNITS[unit.toLowerCase()];
  const n = Number(amount.replace(/,/g, ''));
  return factor === undefined || !Number.isFinite(n) ? undefined : Math.round(n * factor);
}

const SIZE = String.raw`([\d.,]+) ?([kMG]?B)`;

const PATTERNS: readonly [RegExp, (m: RegExpMatchArray) => ProgressLine][] = [
  // apt: "Get:12 http://mirror/debian bookworm/main amd64 libc6 amd64 2.36-9 [2,757 kB]"
  // (the mirror's address is left out: it is noise on a status line).
  [
    new RegExp(String.raw`^Get:(\d+)\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\S+\s+(\S+)\s+\[${SIZE}\]\s*$`),
    (m) => ({
      step: `Get:${m[1]} ${m[2]} ${m[3]}`,
      get: { n: Number(m[1]), bytes: parseSize(m[4]!, m[5]!), package: true },
    }),
  ],
  // apt update: "Get:2 http://mirror/debian bookworm/main amd64 Packages [8,786 kB]" (an index file)
  [
    new RegExp(String.raw`^Get:(\d+)\s+.*?(\S+)\s+\[${SIZE}\]\s*$`),
    (m) => ({
      step: `Get:${m[1]} ${m[2]}`,
      get: { n: Number(m[1]), bytes: parseSize(m[3]!, m[4]!), package: false },
    }),
  ],
  // apt: "Fetched 31.4 MB in 3s (10.2 MB/s)": the authoritative count of one apt run. No step:
  // the live line shows the bytes once.
  [new RegExp(String.raw`^Fetched ${SIZE} in `), (m) => ({ fetched: parseSize(m[1]!, m[2]!) })],
  // apt: "Need to get 22.3 MB of archives." or "Need to get 0 B/22.3 MB of archives." (the rest cached)
  [
    new RegExp(String.raw`^Need to get ${SIZE}(?:/\S+ \S+)? of archives`),
    (m) => ({ need: parseSize(m[1]!, m[2]!) }),
  ],
  // apt: "0 upgraded, 60 newly installed, 0 to remove and 1 not upgraded."
  [/^(\d+) upgraded, (\d+) newly installed/, (m) => ({ installs: Number(m[1]) + Number(m[2]) })],
  // dpkg (through apt or mmdebstrap): "Setting up libc6:amd64 (2.36-9) ..."
  [/^Setting up (.+?)(?: \.\.\.)?$/, (m) => ({ step: `Setting up ${m[1]}`, setUp: true })],
  // dpkg: "Unpacking libc6:amd64 (2.36-9) ..."
  [/^(Unpacking|Processing triggers for) (.+?)(?: \.\.\.)?$/, (m) => ({ step: `${m[1]} ${m[2]}` })],
  // dnf transaction: "  Installing       : bash-5.1.8-6.el9.x86_64     12/40"
  [
    /^\s*(Installing|Upgrading|Reinstalling|Downgrading|Running scriptlet|Verifying|Cleanup|Erasing|Removing)\s*:\s*(\S+)\s+((\d+)\/(\d+))\s*$/,
    (m) => ({
      step: `${m[1]} ${m[2]} (${m[3]})`,
      count: { done: Number(m[4]), total: Number(m[5]) },
    }),
  ],
  // dnf download: "(3/40): bash-5.1.8-6.el9.x86_64.rpm   1.2 MB/s | 1.7 MB     00:01"
  [
    /^\(((\d+)\/(\d+))\): (\S+)\s+.*\|\s*([\d.,]+) ?([kMG]?B?)\s+\d\d:\d\d/,
    (m) => ({
      step: `Downloading ${m[4]} (${m[1]})`,
      bytes: parseSize(m[5]!, m[6] || 'B'),
      count: { done: Number(m[2]), total: Number(m[3]) },
    }),
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
