import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDpkgStatus } from '../../../src/inventory/dpkg-status.js';
import { readAptIndex } from '../../../src/pm/apt-index.js';

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
