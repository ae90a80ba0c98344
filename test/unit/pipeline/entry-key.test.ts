import { entryKeyOf } from '../../../src/cache/cache.js';

test("an entry folder's key is read for its own stage only: iso- never matches iso-base's entries", () => {
  const key = '0123456789abcdef01234567';
  expect(entryKeyOf(`iso-${key}`, 'iso')).toBe(key);
  expect(entryKeyOf(`iso-base-${key}`, 'iso')).toBeUndefined();
  expect(entryKeyOf(`iso-base-${key}`, 'iso-base')).toBe(key);
  expect(entryKeyOf(`iso-${key}.tmp`, 'iso')).toBeUndefined();
});
