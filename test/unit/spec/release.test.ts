import { deriveRelease } from '../../../src/spec/release.js';

test.each([
  ['photon-2.0', 'tdnf', '2.0'],
  ['photon-1.0', 'tdnf', '1.0'],
  ['centos-6.9', 'yum', '6.9'],
  ['fedora-40', 'dnf', '40'],
  ['debian-12', 'apt', 'bookworm'],
  ['debian-11', 'apt', 'bullseye'],
  ['debian-13', 'apt', 'trixie'],
  ['debian-12-python', 'apt', 'bookworm'],
  ['debian-99', 'apt', undefined],
  ['ubuntu-24.04', 'apt', undefined],
  ['mydistro', 'tdnf', undefined],
] as const)('%s with %s → %s', (name, pm, release) => {
  expect(deriveRelease(name, pm)).toBe(release);
});
