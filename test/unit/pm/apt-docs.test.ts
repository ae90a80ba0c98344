import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dpkgDocFilters, estimateFilteredBytes } from '../../../src/pm/apt-docs.js';

test('docs: false leaves out doc, man, info and locales but the kept ones; docs: true filters nothing', () => {
  const filters = dpkgDocFilters({ docs: false, locales: ['de', 'pt_BR'] });
  expect(filters).toEqual(
    expect.arrayContaining([
      'path-exclude=/usr/share/doc/*',
      'path-include=/usr/share/doc/*/copyright',
      'path-exclude=/usr/share/man/*',
      'path-exclude=/usr/share/info/*',
      'path-exclude=/usr/share/locale/*',
      'path-include=/usr/share/locale/de/*',
      'path-include=/usr/share/locale/pt_BR/*',
    ]),
  );
  // dpkg applies the last matching filter: every include comes after its exclude.
  expect(filters.indexOf('path-include=/usr/share/locale/de/*')).toBeGreaterThan(
    filters.indexOf('path-exclude=/usr/share/locale/*'),
  );
  expect(dpkgDocFilters({ docs: true, locales: ['de'] })).toEqual([]);
});

test('the bytes estimate is Installed-Size minus what of each package is in the root, never below 0', async () => {
  const root = await mkdtemp(join(tmpdir(), 'isobuild-docs-'));
  try {
    await mkdir(join(root, 'var/lib/dpkg/info'), { recursive: true });
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await writeFile(join(root, 'usr/bin/tool'), Buffer.alloc(2048));
    await writeFile(
      join(root, 'var/lib/dpkg/status'),
      [
        'Package: tool\nStatus: install ok installed\nInstalled-Size: 10\n',
        'Package: shrunk\nStatus: install ok installed\nInstalled-Size: 1\n',
        'Package: gone\nStatus: deinstall ok config-files\nInstalled-Size: 99\n',
      ].join('\n'),
    );
    // tool: 10 KiB declared, 2 KiB present (its man page was filtered out).
    await writeFile(
      join(root, 'var/lib/dpkg/info/tool.list'),
      '/.\n/usr\n/usr/bin\n/usr/bin/tool\n/usr/share/man/man1/tool.1.gz\n',
    );
    // shrunk: more present than declared (a hard link counted twice): 0, not negative.
    await writeFile(join(root, 'var/lib/dpkg/info/shrunk:amd64.list'), '/usr/bin/tool\n');
    expect(await estimateFilteredBytes(root)).toBe(8 * 1024);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
