import { parseProgressLine } from '../../../src/log/progress-line.js';
import { ProgressTally } from '../../../src/log/progress-tally.js';

// The lines of a real mmdebstrap --verbose run (a stage log of debian-12's iso-base, mirror
// address replaced), in order: apt update, the essential download, dpkg, then a second apt run
// that prints its Fetched line twice.
const get = (n: number, name: string, size: string) =>
  `Get:${n} http://mirror.invalid/debian bookworm/main amd64 ${name} amd64 1.0-1 [${size}]`;

function feed(t: ProgressTally, lines: string[], at: number) {
  for (const line of lines) {
    const p = parseProgressLine(line);
    if (p) t.add(p, at);
  }
}

test('apt: one count of bytes, a repeated Fetched line counted once', () => {
  const t = new ProgressTally();
  feed(
    t,
    [
      'Get:1 http://mirror.invalid/debian bookworm InRelease [151 kB]',
      'Get:2 http://mirror.invalid/debian bookworm/main amd64 Packages [8,786 kB]',
      'Fetched 9425 kB in 2s (3912 kB/s)',
    ],
    0,
  );
  expect(t.figures(0)).toEqual({ bytes: 9_425_000 });
  feed(
    t,
    [
      '1 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.',
      'Need to get 5616 B of archives.',
      get(1, 'usr-is-merged', '5616 B'),
      'Fetched 5616 B in 0s (107 kB/s)',
      'Fetched 5616 B in 0s (107 kB/s)',
    ],
    0,
  );
  expect(t.figures(0)).toMatchObject({ bytes: 9_425_000 + 5616, packagesDone: 0, packagesTotal: 1 });
});

test('apt: packages fetched of the total, percent of what apt needs, and a time left once the rate means something', () => {
  const t = new ProgressTally();
  feed(
    t,
    ['0 upgraded, 4 newly installed, 0 to remove and 1 not upgraded.', 'Need to get 4000 kB of archives.'],
    0,
  );
  expect(t.figures(0)).toEqual({ packagesDone: 0, packagesTotal: 4, percent: 0 });
  feed(t, [get(1, 'libc6', '1000 kB')], 1000);
  // A second in, a quarter started: too early for a rate.
  expect(t.figures(1000)).toEqual({ bytes: 1_000_000, packagesDone: 1, packagesTotal: 4, percent: 25 });
  feed(t, [get(2, 'bash', '1000 kB')], 4000);
  // Half in 4 s: 4 s more at that rate.
  expect(t.figures(4000)).toEqual({
    bytes: 2_000_000,
    packagesDone: 2,
    packagesTotal: 4,
    percent: 50,
    etaSeconds: 4,
  });
  feed(t, [get(3, 'less', '1000 kB'), get(4, 'zlib1g', '1000 kB')], 5000);
  // Every download started, none confirmed: not 100% yet.
  expect(t.figures(5000)).toMatchObject({ percent: 99 });
  feed(t, ['Fetched 4000 kB in 5s (800 kB/s)', 'Setting up libc6:amd64 (1.0-1) ...'], 5000);
  // Downloaded: the packages set up count now, and no time left is guessed.
  expect(t.figures(5000)).toEqual({ bytes: 4_000_000, packagesDone: 1, packagesTotal: 4, percent: 25 });
});

test('apt with every package cached: nothing fetched, the install counted', () => {
  const t = new ProgressTally();
  feed(
    t,
    [
      '0 upgraded, 2 newly installed, 0 to remove and 1 not upgraded.',
      'Need to get 0 B/22.3 MB of archives.',
      'Setting up a (1) ...',
    ],
    0,
  );
  expect(t.figures(0)).toEqual({ packagesDone: 1, packagesTotal: 2, percent: 50 });
});

test('dnf: its own counts and per-package sizes', () => {
  const t = new ProgressTally();
  feed(
    t,
    [
      '(1/2): a-1.0-1.noarch.rpm    3.1 MB/s | 6.2 kB     00:00',
      '(2/2): b-1.0-1.noarch.rpm    3.1 MB/s | 1.0 MB     00:00',
      '  Installing       : a-1.0-1.noarch                          1/2 ',
    ],
    0,
  );
  expect(t.figures(0)).toEqual({ bytes: 1_006_200, packagesDone: 1, packagesTotal: 2, percent: 50 });
});
