import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aimRepoFileAtBundle, bundledRepoDir } from '../../../src/pm/rpm-bundle-repos.js';
import { parseRepomd, primaryLocations } from '../../../src/pm/rpm-repodata.js';

let bundle: string;

beforeAll(async () => {
  bundle = await mkdtemp(join(tmpdir(), 'isobuild-rpm-bundle-repos-'));
  await mkdir(join(bundle, 'repos/base/repodata'), { recursive: true });
  await writeFile(join(bundle, 'repos/base/repodata/repomd.xml'), '<repomd/>');
  await mkdir(join(bundle, 'keys'));
  await writeFile(join(bundle, 'keys/RPM-GPG-KEY-x'), 'key');
});

afterAll(async () => {
  await rm(bundle, { recursive: true, force: true });
});

describe('aimRepoFileAtBundle', () => {
  const text = [
    '[base]',
    'name=Base',
    'baseurl=https://mirror.invalid/base/$releasever/',
    'metalink=https://mirror.invalid/metalink?repo=base',
    'gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-x https://mirror.invalid/KEY',
    'gpgcheck=1',
    '',
    '[updates]',
    'baseurl=https://mirror.invalid/updates/',
    'gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-x',
    '',
  ].join('\n');

  test('a bundled section reads the bundle: its baseurl file:// under the header, no metalink, the bundled copy of a file:// key', () => {
    const dir = bundledRepoDir(bundle, 'base');
    expect(aimRepoFileAtBundle(text, bundle).split('\n').slice(0, 6)).toEqual([
      '[base]',
      `baseurl=file://${dir}/`,
      'name=Base',
      `gpgkey=file://${bundle}/keys/RPM-GPG-KEY-x https://mirror.invalid/KEY`,
      'gpgcheck=1',
      '',
    ]);
  });

  test('a section the bundle lacks is left as written', () => {
    expect(aimRepoFileAtBundle(text, bundle)).toContain(
      '[updates]\nbaseurl=https://mirror.invalid/updates/\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-x\n',
    );
    expect(bundledRepoDir(bundle, 'updates')).toBeUndefined();
  });
});

describe('repodata', () => {
  test('parseRepomd: each data entry with its checksum and location', () => {
    const xml = `<repomd><revision>1</revision>
  <data type="primary">
    <checksum type="sha256">AB12</checksum>
    <open-checksum type="sha256">ffff</open-checksum>
    <location href="repodata/ab12-primary.xml.gz"/>
  </data>
  <data type="group"><checksum type="sha">cd</checksum><location xml:base="x" href="repodata/comps.xml"/></data>
</repomd>`;
    expect(parseRepomd(xml)).toEqual([
      { type: 'primary', href: 'repodata/ab12-primary.xml.gz', checksumType: 'sha256', checksum: 'ab12' },
      { type: 'group', href: 'repodata/comps.xml', checksumType: 'sha', checksum: 'cd' },
    ]);
  });

  test('primaryLocations: a package file name to its place in the repository', () => {
    const xml = `<package type="rpm"><name>bash</name><location href="Packages/b/bash-5.2-1.x86_64.rpm"/></package>
<package type="rpm"><name>x</name><location href="x-1-1.noarch.rpm"/></package>`;
    expect([...primaryLocations(xml)]).toEqual([
      ['bash-5.2-1.x86_64.rpm', 'Packages/b/bash-5.2-1.x86_64.rpm'],
      ['x-1-1.noarch.rpm', 'x-1-1.noarch.rpm'],
    ]);
  });
});
