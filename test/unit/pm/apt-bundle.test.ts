import { jest } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleError } from '../../../src/errors.js';
import type { PmContext } from '../../../src/pm/types.js';
import {
  bundledSourcesName,
  findFetchedDeb,
  listPrefix,
  parseSourceEntries,
  restoreAptBundle,
} from '../../../src/pm/apt-bundle.js';

describe('parseSourceEntries', () => {
  test('deb822 stanzas: each URI with its suites and keyring; deb-src and disabled stanzas are not', () => {
    const text = [
      'Types: deb',
      'URIs: http://deb.debian.org/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb-src',
      'URIs: http://deb.debian.org/debian',
      'Suites: bookworm',
      '',
      'Types: deb',
      'Enabled: no',
      'URIs: http://other.example/debian',
      'Suites: trixie',
    ].join('\n');
    expect(parseSourceEntries(text)).toEqual([
      {
        uri: 'http://deb.debian.org/debian',
        suites: ['bookworm', 'bookworm-updates'],
        signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg',
      },
    ]);
  });

  test('one-line entries, with and without signed-by', () => {
    expect(
      parseSourceEntries(
        'deb [arch=amd64 signed-by=/k.gpg] http://m/debian bookworm main\ndeb http://m/sec bookworm-security main\n',
      ),
    ).toEqual([
      { uri: 'http://m/debian', suites: ['bookworm'], signedBy: '/k.gpg' },
      { uri: 'http://m/sec', suites: ['bookworm-security'] },
    ]);
  });
});

test("bundledSourcesName: each sources file under its own name, in a folder sorting in the build's order", () => {
  const files = ['/etc/apt/sources.list', '/etc/apt/sources.list.d/debian.sources', '/tmp/aim/02-x.list'];
  const names = files.map((f, i) => bundledSourcesName(i, f));
  expect(names).toEqual(['00/sources.list', '01/debian.sources', '02/02-x.list']);
  expect([...names].sort()).toEqual(names);
});

test("listPrefix: apt's list file names for a suite", () => {
  expect(listPrefix('http://deb.debian.org/debian/', 'bookworm')).toBe(
    'deb.debian.org_debian_dists_bookworm_',
  );
  expect(listPrefix('http://deb.debian.org/debian-security', 'bookworm-security')).toBe(
    'deb.debian.org_debian-security_dists_bookworm-security_',
  );
});

test('a bundle whose lock names a package it has no .deb of is refused before anything runs, naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'isobuild-apt-bundle-'));
  try {
    const files = join(dir, 'files');
    await mkdir(join(files, 'apt', 'archives'), { recursive: true });
    await writeFile(join(files, 'apt', 'archives', 'bash_5.2.15-2+b2_amd64.deb'), 'deb');
    const packages = [
      { name: 'bash', version: '5.2.15-2+b2', arch: 'amd64', sha256: 'x' },
      { name: 'busybox', version: '1:1.35.0-4', arch: 'amd64', sha256: 'y' },
    ];
    await writeFile(join(files, 'isobuild.lock'), JSON.stringify({ packages }));
    const run = jest.fn<PmContext['run']>();
    const err = await restoreAptBundle({ pkgCacheDir: join(dir, 'cache'), run }, files, '/b.tar').catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BundleError);
    expect((err as BundleError).details).toEqual({
      bundle: '/b.tar',
      file: 'apt/archives/busybox_1%3a1.35.0-4_amd64.deb',
    });
    expect(run).not.toHaveBeenCalled();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe("findFetchedDeb: a fetched package's file in the archives", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-apt-fetched-'));
    await writeFile(join(dir, 'linux-source-6.1_6.1.190-1_all.deb'), 'a');
    await writeFile(join(dir, 'linux-source-6.1_6.1.192-3_all.deb'), 'b');
    await writeFile(join(dir, 'linux-source-6.10_6.10.1-1_all.deb'), 'c');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the file the stage recorded', async () => {
    const p = { name: 'linux-source-6.1', file: 'linux-source-6.1_6.1.192-3_all.deb' };
    expect(await findFetchedDeb(dir, p, '/r')).toBe(join(dir, p.file));
  });

  test('no record and one file of the package: that one (linux-source-6.10 is another package)', async () => {
    await rm(join(dir, 'linux-source-6.1_6.1.190-1_all.deb'));
    expect(await findFetchedDeb(dir, { name: 'linux-source-6.1' }, '/r')).toBe(
      join(dir, 'linux-source-6.1_6.1.192-3_all.deb'),
    );
  });

  test('no record and several files, or a recorded file gone: refused, saying how to fetch it again', async () => {
    await expect(findFetchedDeb(dir, { name: 'linux-source-6.1' }, '/r')).rejects.toThrow(
      /several \.deb of linux-source-6\.1 .* rebuild with --no-cache/,
    );
    await expect(
      findFetchedDeb(dir, { name: 'linux-source-6.1', file: 'linux-source-6.1_6.1.200-1_all.deb' }, '/r'),
    ).rejects.toThrow(BundleError);
  });
});
