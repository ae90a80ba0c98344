import { growsByBasePackages } from '../../../src/stages/iso-base.js';

// Which earlier iso-base inputs a build may grow from: only packages added to packages.base.
const apt = { packagemanager: 'apt', release: 'bookworm', apt: { variant: 'essential' } };
const was = { pm: apt, adapterVersion: 2, base: ['busybox', 'kmod'], kernel: { kind: 'package' } };

test.each([
  ['one package added', { ...was, base: ['busybox', 'kmod', 'less'] }, { added: ['less'] }],
  [
    'two added, order changed',
    { ...was, base: ['less', 'kmod', 'busybox', 'curl'] },
    { added: ['less', 'curl'] },
  ],
  [
    'a package removed',
    { ...was, base: ['busybox', 'less'] },
    { refused: 'packages removed from packages.base (-kmod)' },
  ],
  [
    'nothing added',
    { ...was, base: ['kmod', 'busybox'] },
    { refused: 'packages.base lists the same packages' },
  ],
  [
    'the release changed too',
    { ...was, pm: { ...apt, release: 'trixie' }, base: ['busybox', 'kmod', 'less'] },
    { refused: 'spec pm changed' },
  ],
  [
    'the kernel changed too',
    { ...was, kernel: { kind: 'file' }, base: ['busybox', 'kmod', 'less'] },
    { refused: 'spec kernel changed' },
  ],
  [
    'an RPM package manager',
    { ...was, pm: { ...apt, packagemanager: 'dnf' }, base: ['busybox', 'kmod', 'less'] },
    { refused: 'dnf cannot add packages to a root as its setup would' },
  ],
])('%s', (_name, now, expected) => {
  expect(growsByBasePackages(was, now)).toEqual(expected);
});
