import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockError } from '../../../src/errors.js';
import { checkInstalledAgainstLock, checkLockAgainstSources } from '../../../src/lock/check.js';
import { makeLock, readLock, staleReason } from '../../../src/lock/lock-file.js';
import { makeAptPins } from '../../../src/pm/apt-pins.js';
import { makeSpec } from '../../helpers/stage-context.js';

const spec = makeSpec({ name: 'debian-12', packages: { base: ['bash'], bootstrap: [], appliance: [] } });
const lock = makeLock(spec, [
  { name: 'libc6', version: '2.36-9', arch: 'amd64', sha256: 'a'.repeat(64) },
  { name: 'bash', version: '5.2.15-2', arch: 'amd64', sha256: 'b'.repeat(64) },
]);
const sources = new Map([
  ['bash 5.2.15-2 amd64', { sha256: 'b'.repeat(64), origin: 'Debian bookworm/main' }],
  ['libc6 2.36-9 amd64', { sha256: 'a'.repeat(64), origin: 'Debian bookworm/main' }],
]);

describe('the package lock', () => {
  test('is sorted and names the spec it was made from', () => {
    expect(lock.packages.map((p) => p.name)).toEqual(['bash', 'libc6']);
    expect(staleReason(spec, lock)).toBeUndefined();
    expect(staleReason({ ...spec, packages: { ...spec.packages, bootstrap: ['hello'] } }, lock)).toMatch(
      /changed/,
    );
  });

  test('a version the sources no longer provide, and a changed digest, are each named', () => {
    expect(() => checkLockAgainstSources(lock, sources, 'isobuild.lock')).not.toThrow();
    const edited = {
      ...lock,
      packages: [
        { ...lock.packages[0]!, version: '5.2.15-9' },
        { ...lock.packages[1]!, sha256: 'c'.repeat(64) },
      ],
    };
    let err: unknown;
    try {
      checkLockAgainstSources(edited, sources, 'isobuild.lock');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockError);
    expect((err as LockError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(
      /bash 5\.2\.15-9 \(amd64\): the sources no longer provide this version/,
    );
    expect((err as Error).message).toMatch(
      /libc6 2\.36-9 \(amd64\): digest a{64} in the sources, c{64} in the lock/,
    );
  });

  test('after a locked install the root must hold exactly the locked versions', () => {
    const ok = [{ name: 'bash', version: '5.2.15-2', arch: 'amd64' }];
    expect(() => checkInstalledAgainstLock(ok, lock, 'staging')).not.toThrow();
    expect(() =>
      checkInstalledAgainstLock(
        [
          { name: 'bash', version: '5.2.15-3', arch: 'amd64' },
          { name: 'hello', version: '1', arch: 'amd64' },
        ],
        lock,
        'staging',
      ),
    ).toThrow(/bash 5\.2\.15-3 \(amd64\): the lock says 5\.2\.15-2[\s\S]*hello 1 \(amd64\): not in the lock/);
  });

  test('apt pins every locked version above any other', () => {
    expect(makeAptPins(lock)).toBe(
      'Package: bash\nPin: version 5.2.15-2\nPin-Priority: 1001\n\nPackage: libc6\nPin: version 2.36-9\nPin-Priority: 1001\n',
    );
  });

  test('a broken lock file names the file and the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'isobuild-lock-'));
    try {
      const file = join(dir, 'isobuild.lock');
      expect(await readLock(file)).toBeUndefined();
      await writeFile(
        file,
        JSON.stringify({ ...lock, packages: [{ name: 'bash', version: '', arch: 'amd64', sha256: 'x' }] }),
      );
      await expect(readLock(file)).rejects.toThrow(`${file} /packages/0/version: must be a non-empty string`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
