import { listPrefix, parseSourceEntries } from '../../../src/pm/apt-bundle.js';

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

test("listPrefix: apt's list file names for a suite", () => {
  expect(listPrefix('http://deb.debian.org/debian/', 'bookworm')).toBe(
    'deb.debian.org_debian_dists_bookworm_',
  );
  expect(listPrefix('http://deb.debian.org/debian-security', 'bookworm-security')).toBe(
    'deb.debian.org_debian-security_dists_bookworm-security_',
  );
});
