import { parseProgressLine, parseSize } from '../../../src/log/progress-line.js';

// Lines as apt, dpkg, dnf and mmdebstrap print them (copied from real runs' stage logs).
const cases: [string, ReturnType<typeof parseProgressLine>][] = [
  [
    'Get:12 http://mirror.invalid/debian bookworm/main amd64 libc6 amd64 2.36-9+deb12u4 [2,757 kB]',
    { step: 'Get:12 libc6 2.36-9+deb12u4', get: { n: 12, bytes: 2_757_000, package: true } },
  ],
  [
    'Get:2 http://mirror.invalid/debian bookworm/main amd64 Packages [8,786 kB]',
    { step: 'Get:2 Packages', get: { n: 2, bytes: 8_786_000, package: false } },
  ],
  [
    'Get:1 http://mirror.invalid/debian bookworm InRelease [151 kB]',
    { step: 'Get:1 InRelease', get: { n: 1, bytes: 151_000, package: false } },
  ],
  ['Need to get 22.3 MB of archives.', { need: 22_300_000 }],
  ['Need to get 0 B/22.3 MB of archives.', { need: 0 }],
  ['Need to get 1,024 kB/22.3 MB of archives.', { need: 1_024_000 }],
  ['0 upgraded, 60 newly installed, 0 to remove and 1 not upgraded.', { installs: 60 }],
  ['1 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.', { installs: 1 }],
  ['Fetched 31.4 MB in 3s (10.2 MB/s)', { fetched: 31_400_000 }],
  ['Fetched 1,234 kB in 0s (5,120 kB/s)', { fetched: 1_234_000 }],
  ['Fetched 512 B in 0s (3,011 B/s)', { fetched: 512 }],
  ['Unpacking libc6:amd64 (2.36-9+deb12u4) ...', { step: 'Unpacking libc6:amd64 (2.36-9+deb12u4)' }],
  ['Preparing to unpack .../libc6_2.36-9_amd64.deb ...', undefined],
  ['Setting up base-files (12.4+deb12u5) ...', { step: 'Setting up base-files (12.4+deb12u5)', setUp: true }],
  ['Processing triggers for libc-bin (2.36-9) ...', { step: 'Processing triggers for libc-bin (2.36-9)' }],
  [
    '  Installing       : bash-5.2.15-1.fc38.x86_64                          12/40 ',
    { step: 'Installing bash-5.2.15-1.fc38.x86_64 (12/40)', count: { done: 12, total: 40 } },
  ],
  [
    '  Running scriptlet: filesystem-3.18-3.fc38.x86_64                       1/40 ',
    { step: 'Running scriptlet filesystem-3.18-3.fc38.x86_64 (1/40)', count: { done: 1, total: 40 } },
  ],
  [
    '(3/40): bash-5.2.15-1.fc38.x86_64.rpm            1.2 MB/s | 1.8 MB     00:01    ',
    {
      step: 'Downloading bash-5.2.15-1.fc38.x86_64.rpm (3/40)',
      bytes: 1_800_000,
      count: { done: 3, total: 40 },
    },
  ],
  [
    '(1/2): isobuild-demo-1.0-1.noarch.rpm    3.1 MB/s | 6.2 kB     00:00',
    { step: 'Downloading isobuild-demo-1.0-1.noarch.rpm (1/2)', bytes: 6_200, count: { done: 1, total: 2 } },
  ],
  ['I: downloading packages with apt...', { step: 'downloading packages with apt' }],
  ['I: extracting archives...', { step: 'extracting archives' }],
  ['Reading package lists...', undefined],
  ['some hook output', undefined],
  ['', undefined],
];

test.each(cases)('%j', (line, expected) => {
  expect(parseProgressLine(line)).toEqual(expected);
});

test('sizes use SI units and drop thousands separators', () => {
  expect(parseSize('2,757', 'kB')).toBe(2_757_000);
  expect(parseSize('1.5', 'GB')).toBe(1_500_000_000);
  expect(parseSize('12', 'k')).toBe(12_000);
  expect(parseSize('12', 'XB')).toBeUndefined();
});
