// The package managers a spec is checked against: src/pm/index.ts hands them to src/spec/.
import '../../../src/pm/index.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDiagnostic } from '../../../src/errors.js';
import { mergeSpecValues } from '../../../src/spec/extends.js';
import { loadRepoFolder } from '../../../src/spec/load.js';
import { makeRepo, type RepoFixture } from './repo-fixture.js';

// A base spec (repos/base/repo-spec.yaml) that repos extend; loaded by the real loader.
let fx: RepoFixture;
beforeEach(async () => {
  fx = await makeRepo('my-apt', {});
  await mkdir(join(fx.root, 'base'));
  await writeFile(
    join(fx.root, 'base', 'repo-spec.yaml'),
    [
      'packagemanager: apt',
      'kernel: linux-image-cloud-amd64',
      'init: /bin/init',
      'packages:',
      '  base: bash busybox',
      '  appliance: systemd',
      'apt:',
      '  variant: minbase',
      'compression: xz',
      'cmdline: console=ttyS0',
      '',
    ].join('\n'),
  );
});
afterEach(() => fx.remove());

const writeSpec = (dir: string, spec: object) =>
  writeFile(join(dir, 'repo-spec.json'), JSON.stringify(spec, null, 2) + '\n');
const messages = async (dir: string) => (await loadRepoFolder(dir)).errors.map(formatDiagnostic);

test('merge rules: objects merged key by key, arrays and scalars replaced whole', () => {
  expect(
    mergeSpecValues(
      { a: { x: 1, y: [1, 2] }, list: [1, 2], s: 'base', keep: true },
      { a: { y: [3] }, list: [9], s: 'mine' },
    ),
  ).toEqual({ a: { x: 1, y: [3] }, list: [9], s: 'mine', keep: true });
});

test('a repo extending a base gets its fields; its own replace or merge into them', async () => {
  await writeSpec(fx.dir, {
    extends: '../base',
    name: 'my-apt',
    packages: { base: 'bash busybox kmod' },
    apt: { components: ['main', 'contrib'] },
    compression: 'zstd',
  });
  const { spec, errors } = await loadRepoFolder(fx.dir);
  expect(errors).toEqual([]);
  expect(spec).toMatchObject({
    name: 'my-apt',
    packagemanager: 'apt',
    init: '/bin/init',
    compression: 'zstd',
    cmdline: 'console=ttyS0',
    apt: { variant: 'minbase', components: ['main', 'contrib'] },
  });
  // `packages` is an object: merged, so appliance comes from the base and base from the repo.
  expect(spec!.packages).toEqual({
    base: ['bash', 'busybox', 'kmod'],
    bootstrap: [],
    appliance: ['systemd'],
  });
  expect(spec!.raw.extends).toBe('../base');
});

test('a base can extend another base; the nearest one wins', async () => {
  await mkdir(join(fx.root, 'mid'));
  await writeSpec(join(fx.root, 'mid'), {
    extends: '../base/repo-spec.yaml',
    compression: 'gzip',
    modules: 'drivers',
  });
  await writeSpec(fx.dir, { extends: '../mid', name: 'my-apt', modules: 'all' });
  const { spec, errors } = await loadRepoFolder(fx.dir);
  expect(errors).toEqual([]);
  expect(spec).toMatchObject({ compression: 'gzip', modules: 'all', cmdline: 'console=ttyS0' });
});

test('a missing base is an error at the extends line', async () => {
  await writeSpec(fx.dir, { name: 'my-apt', extends: '../nowhere' });
  expect(await messages(fx.dir)).toEqual([
    expect.stringMatching(
      /my-apt\/repo-spec\.json:3:14 \/extends: the base spec "\.\.\/nowhere" does not exist: name a spec file or a folder holding repo-spec\.json/,
    ),
  ]);
});

test('a cycle is an error at the extends line, naming the files', async () => {
  await writeFile(join(fx.root, 'base', 'repo-spec.yaml'), 'extends: ../my-apt\ncompression: xz\n');
  await writeSpec(fx.dir, { extends: '../base', name: 'my-apt' });
  const [message, ...rest] = await messages(fx.dir);
  expect(rest).toEqual([]);
  expect(message).toMatch(
    /my-apt\/repo-spec\.json:2:14 \/extends: extends makes a cycle: .*my-apt\/repo-spec\.json → .*base\/repo-spec\.yaml → .*my-apt\/repo-spec\.json/,
  );
});

test('a base that does not parse is named, with its own file:line:col', async () => {
  await writeFile(join(fx.root, 'base', 'repo-spec.yaml'), 'packages: [unclosed\n');
  await writeSpec(fx.dir, { extends: '../base', name: 'my-apt' });
  const found = await messages(fx.dir);
  expect(found).toContainEqual(
    expect.stringMatching(
      /my-apt\/repo-spec\.json:2:14 \/extends: the base spec .*base\/repo-spec\.yaml does not parse/,
    ),
  );
  expect(found).toContainEqual(expect.stringMatching(/base\/repo-spec\.yaml:\d+:\d+ \/: /));
});

test('a bad value from the base is checked in the merged spec and placed at the extends line', async () => {
  await writeFile(
    join(fx.root, 'base', 'repo-spec.yaml'),
    'packagemanager: apt\nkernel: k\ninit: /bin/init\npackages: { base: bash }\ncompression: rar\n',
  );
  await writeSpec(fx.dir, { extends: '../base', name: 'my-apt' });
  expect(await messages(fx.dir)).toEqual([
    expect.stringMatching(/my-apt\/repo-spec\.json:2:14 \/compression: must be/),
  ]);
});
