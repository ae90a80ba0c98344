import { editDistance, findNearest } from '../../../src/spec/suggest.js';

test.each([
  ['', '', 0],
  ['abc', '', 3],
  ['kitten', 'sitting', 3],
  ['pakages', 'packages', 1],
  ['tdfn', 'tdnf', 1],
  ['atp', 'apt', 1],
])('editDistance(%j, %j) = %d', (a, b, d) => {
  expect(editDistance(a, b)).toBe(d);
  expect(editDistance(b, a)).toBe(d);
});

test('findNearest suggests close names only', () => {
  const fields = ['name', 'packagemanager', 'kernel', 'init', 'packages', 'apt', 'boot'];
  expect(findNearest('pakages', fields)).toBe('packages');
  expect(findNearest('Kernal', fields)).toBe('kernel');
  expect(findNearest('packagemanger', fields)).toBe('packagemanager');
  expect(findNearest('zzzzzz', fields)).toBeUndefined();
  expect(findNearest('lz4', ['gzip', 'zstd', 'xz'])).toBeUndefined();
});
