import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from '../../../src/errors.js';
import { checkRepoKeys, findReposWithoutKeys, parseRepoFile } from '../../../src/pm/rpm-repo-files.js';
import type { ResolvedSpec } from '../../../src/spec/types.js';

test('parseRepoFile reads sections and keys, skipping comments', () => {
  expect(
    parseRepoFile(
      '# photon\n[photon]\nname=VMware Photon Linux $releasever\nbaseurl = https://x/$basearch\n; off\nGPGCheck=1\n\n[extras]\nenabled=0\n',
    ),
  ).toEqual([
    {
      id: 'photon',
      options: { name: 'VMware Photon Linux $releasever', baseurl: 'https://x/$basearch', gpgcheck: '1' },
    },
    { id: 'extras', options: { enabled: '0' } },
  ]);
});

describe('repos that check signatures without a key', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-repo-files-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function specWith(text: string, gpgKeys: string[] = []): Promise<ResolvedSpec> {
    const file = join(dir, 'distro.repo');
    await writeFile(file, text);
    return { repoFiles: [file], gpgKeys } as unknown as ResolvedSpec;
  }

  test.each([
    ['gpgcheck=1, no gpgkey, no key in the folder', '[a]\ngpgcheck=1\n', [], ['distro.repo [a]']],
    ['gpgcheck left to the default (on)', '[a]\nbaseurl=file:///r\n', [], ['distro.repo [a]']],
    ['gpgcheck=0', '[a]\ngpgcheck=0\n', [], []],
    ['a disabled repo', '[a]\nenabled=0\ngpgcheck=1\n', [], []],
    ['a gpgkey= URL of its own', '[a]\ngpgcheck=1\ngpgkey=https://example.invalid/k\n', [], []],
    ['a file:// gpgkey= the build host has', '[a]\ngpgcheck=1\ngpgkey=file:///etc/hostname\n', [], []],
    [
      'a file:// gpgkey= the build host lacks (VIC’s centos-6.9)',
      '[a]\ngpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-6\n',
      [],
      ['distro.repo [a]'],
    ],
    ['a key in the repo folder', '[a]\ngpgcheck=1\n', ['/repo/RPM-GPG-KEY'], []],
  ])('%s', async (_name, text, keys, expected) => {
    expect(await findReposWithoutKeys(await specWith(text, keys))).toEqual(expected);
  });

  test('the error names the file, the section and the ways out', async () => {
    const spec = await specWith('[a]\ngpgcheck=1\n[b]\ngpgcheck=yes\n');
    await expect(checkRepoKeys(spec, 'iso-base')).rejects.toThrow(BuildError);
    await expect(checkRepoKeys(spec, 'iso-base')).rejects.toThrow(
      'stage iso-base: distro.repo [a], distro.repo [b] check package signatures (gpgcheck=1) but there is no key',
    );
  });
});
