import { mkdtemp, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDpkgStatus } from '../../../src/inventory/dpkg-status.js';
import { lookupAptIndex, readAptIndex } from '../../../src/pm/apt-index.js';

const STATUS = `Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library
 continuation line: not a field

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: busybox-static
Status: install ok installed
Architecture: amd64
Source: busybox (1:1.35.0-4)
Version: 1:1.35.0-4+b3

Package: adduser
Status: install ok installed
Architecture: all
Version: 3.134
`;

describe('parseDpkgStatus', () => {
  test('lists installed packages only, sorted, with their source package', () => {
    expect(parseDpkgStatus(STATUS)).toEqual([
      { name: 'adduser', version: '3.134', arch: 'all', source: 'adduser' },
      { name: 'busybox-static', version: '1:1.35.0-4+b3', arch: 'amd64', source: 'busybox' },
      { name: 'libc6', version: '2.36-9+deb12u4', arch: 'amd64', source: 'glibc' },
    ]);
  });
});

describe('readAptIndex', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-apt-index-'));
    await mkdir(join(dir, 'partial'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  test('gives each package version its sha256 and "Origin codename/component"', async () => {
    const prefix = 'mirror.example_debian_dists_bookworm';
    await writeFile(
      join(dir, `${prefix}_InRelease`),
      '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\nLabel: Debian\nSuite: stable\nCodename: bookworm\n',
    );
    await writeFile(
      join(dir, `${prefix}_main_binary-amd64_Packages`),
      'Package: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\nFilename: pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb\nSHA256: ' +
        'a'.repeat(64) +
        '\n\nPackage: adduser\nVersion: 3.134\nArchitecture: all\nFilename: pool/main/a/adduser/adduser_3.134_all.deb\nSHA256: ' +
        'b'.repeat(64) +
        '\n',
    );
    const index = await readAptIndex(dir);
    expect(index.get('libc6 2.36-9+deb12u4 amd64')).toEqual({
      sha256: 'a'.repeat(64),
      origin: 'Debian bookworm/main',
    });
    expect(index.get('adduser 3.134 all')?.sha256).toBe('b'.repeat(64));
    expect(index.size).toBe(2);
  });
});

describe('lookupAptIndex', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-apt-lookup-'));
    await mkdir(join(dir, 'lists'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const list = (sha: string) =>
    `Package: libc6\nVersion: 2.36\nArchitecture: amd64\nFilename: pool/main/g/glibc/libc6_2.36_amd64.deb\nSHA256: ${sha}\n`;

  test('answers from the memo until the lists change', async () => {
    const lists = join(dir, 'lists');
    const memo = join(dir, 'lookups.json');
    const packages = join(lists, 'm_debian_dists_bookworm_main_binary-amd64_Packages');
    await writeFile(packages, list('a'.repeat(64)));
    const mtime = new Date(1_700_000_000_000);
    await utimes(packages, mtime, mtime);
    const first = await lookupAptIndex(lists, ['libc6 2.36 amd64', 'gone 1 all'], memo);
    expect(first.get('libc6 2.36 amd64')?.sha256).toBe('a'.repeat(64));
    expect(first.has('gone 1 all')).toBe(false);
    expect(JSON.parse(await readFile(memo, 'utf8')).lookups).toHaveLength(1);
    // The memo answers (the list's content is not read again while its name and mtime hold)...
    await writeFile(packages, list('b'.repeat(64)));
    await utimes(packages, mtime, mtime);
    expect(
      (await lookupAptIndex(lists, ['gone 1 all', 'libc6 2.36 amd64'], memo)).get('libc6 2.36 amd64')?.sha256,
    ).toBe('a'.repeat(64));
    // ...and a refreshed list (new mtime) is parsed again.
    await utimes(packages, new Date(), new Date(Date.now() + 5000));
    expect((await lookupAptIndex(lists, ['libc6 2.36 amd64'], memo)).get('libc6 2.36 amd64')?.sha256).toBe(
      'b'.repeat(64),
    );
  });

  test('finds the asked packages as the full parse does, whatever the stanzas around them hold', async () => {
    const lists = join(dir, 'lists');
    const stanza = (name: string, version: string, sha: string, extra = '') =>
      `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\n${extra}` +
      `Filename: pool/main/x/${name}/${name}_${version}_amd64.deb\nSHA256: ${sha}\n`;
    await writeFile(
      join(lists, 'm_debian_dists_bookworm_main_binary-amd64_Packages'),
      [
        stanza('less', '590-2.1', 'c'.repeat(64)),
        // A description line that reads like a field, and a package whose name starts like another's.
        stanza('lesspipe', '1', 'd'.repeat(64), 'Description: x\n Package: less\n Version: 9\n'),
        stanza('less', '600-1', 'e'.repeat(64)),
        stanza('bash', '5.2', 'f'.repeat(64)),
      ].join('\n'),
    );
    const keys = [
      'less 590-2.1 amd64',
      'less 600-1 amd64',
      'bash 5.2 amd64',
      'lesspipe 1 amd64',
      'less 9 amd64',
    ];
    const looked = await lookupAptIndex(lists, keys, join(dir, 'lookups.json'));
    const full = await readAptIndex(lists);
    for (const key of keys) expect(looked.get(key)).toEqual(full.get(key));
    expect([...looked.keys()].sort()).toEqual([
      'bash 5.2 amd64',
      'less 590-2.1 amd64',
      'less 600-1 amd64',
      'lesspipe 1 amd64',
    ]);
  });
});
