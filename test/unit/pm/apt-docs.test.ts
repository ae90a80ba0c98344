import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { dpkgDocFilters, dpkgFilterScript, estimateFilteredBytes } from '../../../src/pm/apt-docs.js';

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

test("the filter script (real sh and find) follows dpkg's rules: last match wins, folders on the way to an include stay", async () => {
  const root = await mkdtemp(join(tmpdir(), 'isobuild-docs-'));
  try {
    const files = [
      'usr/share/doc/bash/copyright',
      'usr/share/doc/bash/README.gz',
      'usr/share/doc/bash/examples/loadables/Makefile',
      'usr/share/man/man1/bash.1.gz',
      'usr/share/locale/de/LC_MESSAGES/bash.mo',
      'usr/share/locale/fr/LC_MESSAGES/bash.mo',
      'usr/share/locale/locale.alias',
      'usr/bin/bash',
    ];
    for (const f of files) {
      await mkdir(join(root, f, '..'), { recursive: true });
      await writeFile(join(root, f), 'x');
    }
    await symlink('bash', join(root, 'usr/share/doc/bash-builtins'));
    const script = join(root, '..', `${root.split('/').pop()}.sh`);
    await writeFile(script, dpkgFilterScript(dpkgDocFilters({ docs: false, locales: ['de'] })));
    execFileSync('sh', [script, root]);
    await rm(script);
    // readdir follows the kept link into bash/: leave out what it shows through it.
    const left = (await readdir(root, { recursive: true }))
      .filter((p) => !p.startsWith('usr/share/doc/bash-builtins/'))
      .sort();
    expect(left).toEqual(
      [
        'usr',
        'usr/bin',
        'usr/bin/bash',
        'usr/share',
        'usr/share/doc',
        'usr/share/doc/bash',
        'usr/share/doc/bash-builtins',
        'usr/share/doc/bash/copyright',
        // dpkg keeps a folder under /usr/share/doc/ (on the way to */copyright), even emptied.
        'usr/share/doc/bash/examples',
        'usr/share/doc/bash/examples/loadables',
        'usr/share/locale',
        'usr/share/locale/de',
        'usr/share/locale/de/LC_MESSAGES',
        'usr/share/locale/de/LC_MESSAGES/bash.mo',
        'usr/share/locale/locale.alias',
        'usr/share/man',
      ].sort(),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
