import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BASE_SPEC, makeRepo, specJson } from '../spec/repo-fixture.js';
import { checkCliBuilt, ROOT, runCli } from './run-cli.js';
import { parseEvents } from '../../helpers/json-events.js';
import { makeCachedIsoBase } from '../../helpers/cached-iso-base.js';

/** Diagnostic lines of stderr, without the handler's "error: " / "warning: " prefix. */
function diagnostics(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.replace(/^(error|warning): /, ''))
    .filter((l) => /^\S+:\d+:\d+ /.test(l));
}

beforeAll(checkCliBuilt);

const yaml = (text: string) => text.replace(/^\n/, '');

interface InvalidCase {
  name: string;
  /** Repo folder name (the spec's name must match it). */
  folder?: string;
  files: Record<string, string | { symlink: string }>;
  /** Files beside the repo folder, e.g. a symlink's target. */
  outside?: Record<string, string>;
  expected: string[];
}

const spec = (o: Record<string, unknown> = {}) => specJson(o);

const CASES: InvalidCase[] = [
  {
    name: 'malformed JSON: a missing comma',
    files: { 'repo-spec.json': '{\n  "name": "debian-12",\n  "packagemanager": "apt"\n  "kernel": "k"\n}\n' },
    expected: ["debian-12/repo-spec.json:4:3 /: Expected ',' or '}' after property value"],
  },
  {
    name: 'malformed YAML: an unclosed flow sequence',
    files: {
      'repo-spec.yaml': yaml(`
name: debian-12
packagemanager: apt
packages:
  base: [bash
kernel: k
`),
    },
    expected: [
      'debian-12/repo-spec.yaml:5:1 /: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
  },
  {
    name: 'malformed JSON: a duplicate key',
    files: { 'repo-spec.json': '{\n  "name": "debian-12",\n  "name": "debian-12"\n}\n' },
    expected: ['debian-12/repo-spec.json:3:3 /: Map keys must be unique'],
  },
  {
    name: 'empty file',
    files: { 'repo-spec.json': '' },
    expected: [
      'debian-12/repo-spec.json:1:1 /: the file is empty: write a repo spec with at least name, packagemanager, kernel, init and packages',
    ],
  },
  {
    name: 'YAML file with only a comment counts as empty',
    files: { 'repo-spec.yaml': '# nothing yet\n' },
    expected: [
      'debian-12/repo-spec.yaml:1:1 /: the file is empty: write a repo spec with at least name, packagemanager, kernel, init and packages',
    ],
  },
  {
    name: 'not an object at the top',
    files: { 'repo-spec.json': '[]\n' },
    expected: ['debian-12/repo-spec.json:1:1 /: must be an object'],
  },
  {
    name: 'wrong type: a number for a package list (anyOf folded into one message)',
    files: {
      'repo-spec.yaml': yaml(`
name: debian-12
packagemanager: apt
kernel: linux-image-cloud-amd64
init: /bin/init
packages:
  base: 42
`),
    },
    expected: ['debian-12/repo-spec.yaml:6:9 /packages/base: must be a string or an array of strings'],
  },
  {
    name: 'wrong type inside a package array, and a blank inside a name',
    files: { 'repo-spec.json': spec({ packages: { base: ['bash', 3, 'core utils'] } }) },
    expected: [
      'debian-12/repo-spec.json:9:7 /packages/base/1: must be a string',
      'debian-12/repo-spec.json:10:7 /packages/base/2: must be one package name, without blanks',
    ],
  },
  {
    name: 'wrong type: a string for a boolean',
    files: { 'repo-spec.json': spec({ boot: { bios: 'yes' } }) },
    expected: ['debian-12/repo-spec.json:10:13 /boot/bios: must be a boolean (true or false)'],
  },
  {
    name: 'unknown field at the top (and so a missing one), with a suggestion at the key',
    files: {
      'repo-spec.yaml': yaml(`
name: debian-12
packagemanager: apt
kernel: linux-image-cloud-amd64
init: /bin/init
pakages:
  base: bash
`),
    },
    expected: [
      'debian-12/repo-spec.yaml:1:1 /packages: missing required field "packages"',
      'debian-12/repo-spec.yaml:5:1 /pakages: unknown field "pakages" (did you mean "packages"?)',
    ],
  },
  {
    name: 'unknown nested field',
    files: { 'repo-spec.json': spec({ apt: { varient: 'minbase' } }) },
    expected: [
      'debian-12/repo-spec.json:10:5 /apt/varient: unknown field "varient" (did you mean "variant"?)',
    ],
  },
  {
    name: 'missing required fields, nested and at the top',
    files: {
      'repo-spec.yaml': yaml(`
name: debian-12
packagemanager: apt
init: /bin/init
packages:
  bootstrap: bash
`),
    },
    expected: [
      'debian-12/repo-spec.yaml:1:1 /kernel: missing required field "kernel"',
      'debian-12/repo-spec.yaml:5:3 /packages/base: missing required field "base"',
    ],
  },
  {
    name: 'enum typo with a suggestion, and a relative init',
    files: { 'repo-spec.json': spec({ packagemanager: 'atp', init: 'bin/init' }) },
    expected: [
      'debian-12/repo-spec.json:3:21 /packagemanager: must be one of "tdnf", "yum", "dnf", "apt", "oci" (did you mean "apt"?)',
      'debian-12/repo-spec.json:5:11 /init: must be an absolute path (starting with /)',
    ],
  },
  {
    name: 'unsafe repo name',
    files: { 'repo-spec.json': spec({ name: '../etc' }) },
    expected: [
      'debian-12/repo-spec.json:2:11 /name: must be a safe name: letters, digits, ".", "_" and "-", starting with a letter or digit',
    ],
  },
  {
    name: 'name does not match the folder',
    files: { 'repo-spec.json': spec({ name: 'debian-11' }) },
    expected: [
      'debian-12/repo-spec.json:2:11 /name: name "debian-11" does not match the folder name "debian-12": set name to "debian-12" or rename the folder',
    ],
  },
  {
    name: 'path escape with ..',
    files: { 'repo-spec.json': spec({ kernel: '../linux.deb' }) },
    expected: [
      'debian-12/repo-spec.json:4:13 /kernel: "../linux.deb" must stay inside the repo folder: remove the ".." and copy the file into the folder',
    ],
  },
  {
    name: 'absolute path',
    files: { 'repo-spec.json': spec({ apt: { sources: '/etc/apt/sources.list' } }) },
    expected: [
      'debian-12/repo-spec.json:10:16 /apt/sources: "/etc/apt/sources.list" must be a path relative to the repo folder, not an absolute path',
    ],
  },
  {
    name: 'symlink escape',
    files: { 'repo-spec.json': spec({ kernel: 'linux.deb' }), 'linux.deb': { symlink: '../outside.deb' } },
    outside: { 'outside.deb': 'not a kernel' },
    expected: [
      'debian-12/repo-spec.json:4:13 /kernel: "linux.deb" leads outside the repo folder through a symlink (to outside.deb): copy the file into the folder instead',
    ],
  },
  {
    name: 'missing kernel file',
    files: { 'repo-spec.json': spec({ kernel: 'kernels/linux.rpm' }) },
    expected: [
      'debian-12/repo-spec.json:4:13 /kernel: file not found: "kernels/linux.rpm" (paths are relative to the repo folder debian-12)',
    ],
  },
  {
    name: 'kernel path that is not a package file',
    files: { 'repo-spec.json': spec({ kernel: 'boot/vmlinuz' }), 'boot/vmlinuz': 'x' },
    expected: [
      'debian-12/repo-spec.json:4:13 /kernel: "boot/vmlinuz" looks like a path but is not a .rpm or .deb file: give a kernel package file, or a package name without "/"',
    ],
  },
  {
    name: 'shell metacharacters in a staging script',
    files: { 'repo-spec.json': spec({ packages_script_staging: { appliance: 'erase toybox; rm -rf /' } }) },
    expected: [
      'debian-12/repo-spec.json:10:18 /packages_script_staging/appliance: contains the shell metacharacter ";": this is one package-manager subcommand passed as arguments (e.g. "erase toybox"), never run by a shell; put shell commands in staging.sh',
    ],
  },
  {
    name: 'a line break in a staging script',
    files: { 'repo-spec.json': spec({ packages_script_staging: { bootstrap: 'erase\ntoybox' } }) },
    expected: [
      'debian-12/repo-spec.json:10:18 /packages_script_staging/bootstrap: contains the shell metacharacter a line break: this is one package-manager subcommand passed as arguments (e.g. "erase toybox"), never run by a shell; put shell commands in staging.sh',
    ],
  },
  {
    name: 'both spec formats present',
    files: { 'repo-spec.json': spec(), 'repo-spec.yaml': 'name: debian-12\n' },
    expected: [
      'debian-12/repo-spec.yaml:1:1 /: repo-spec.json and repo-spec.yaml are both present: keep one spec file and delete the other',
    ],
  },
  {
    name: 'no spec file at all',
    files: { 'init.sh': 'drivers=()\n' },
    expected: [
      'debian-12/repo-spec.json:1:1 /: no repo-spec.json, repo-spec.yaml or repo-spec.yml in the repo folder: add one (see docs/spec.md)',
    ],
  },
  {
    name: 'an RPM repo whose .repo file uses $releasever, with no version in its name',
    folder: 'mydistro',
    files: {
      'repo-spec.json': spec({ name: 'mydistro', packagemanager: 'tdnf', kernel: 'linux-esx' }),
      'my.repo': '[my]\nbaseurl=http://mirror.invalid/$releasever/os\n',
    },
    expected: [
      'mydistro/repo-spec.json:2:11 /name: my.repo use $releasever and the name "mydistro" carries no version: set "release" (e.g. "2.0")',
    ],
  },
  {
    name: 'an apt repo whose own sources name no suite (a flat repository)',
    folder: 'mydistro',
    files: {
      'repo-spec.json': spec({ name: 'mydistro' }),
      'sources.list': 'deb [trusted=yes] file:/srv/debs ./\n',
    },
    expected: [
      'mydistro/repo-spec.json:2:11 /name: no apt suite: the name "mydistro" is not debian-<version> and no apt sources (the repo\'s, else the host\'s) name a suite: set "release" (e.g. "bookworm")',
    ],
  },
  {
    name: 'no firmware to boot',
    files: { 'repo-spec.json': spec({ boot: { bios: false, uefi: false } }) },
    expected: [
      'debian-12/repo-spec.json:9:11 /boot: both bios and uefi are false: enable at least one firmware',
    ],
  },
  {
    name: 'a hook that does not parse',
    files: { 'repo-spec.json': spec(), 'staging.sh': '#!/bin/bash\nif true; then\n  echo hi\nfi fi\n' },
    expected: [
      "debian-12/staging.sh:4:1 /: bash -n: syntax error near unexpected token `fi': fix the shell syntax of staging.sh",
    ],
  },
  {
    name: 'a drivers array that needs the shell to evaluate it',
    files: {
      'repo-spec.json': spec(),
      'init.sh': '#!/bin/bash\ndrivers=(\n    "nfs" \\\n    $(uname -r)\n)\n',
    },
    expected: [
      'debian-12/init.sh:4:5 /: the drivers array must hold literal module names; "$" would need the shell to evaluate it',
    ],
  },
  {
    name: 'a minimise.keep glob with an unclosed brace (a build would crash at minimise)',
    files: {
      'repo-spec.json': spec({ minimise: { workloads: [{ argv: ['/bin/true'] }], keep: ['/usr/{a,b'] } }),
    },
    expected: [
      'debian-12/repo-spec.json:18:7 /minimise/keep/0: "/usr/{a,b" is not a valid glob: a "{" is never closed by "}" (write \\{ for a literal "{")',
    ],
  },
  {
    name: 'an invalid environment variable name in the app section',
    files: { 'repo-spec.json': spec({ app: { run: ['/app/run'], env: { '1BAD': 'x' } } }) },
    expected: [
      'debian-12/repo-spec.json:14:7 /app/env/1BAD: "1BAD" is not a valid variable name (letters, digits and "_", not starting with a digit)',
    ],
  },
];

describe('isobuild validate PATH rejects invalid specs with exit 2 and file:line:col pointer messages', () => {
  test.concurrent.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const fixture = await makeRepo(c.folder ?? 'debian-12', c.files);
    try {
      for (const [name, content] of Object.entries(c.outside ?? {})) {
        await writeFile(join(fixture.root, name), content);
      }
      const res = await runCli(['validate', c.folder ?? 'debian-12'], fixture.root);
      expect({ code: res.code, diagnostics: diagnostics(res.stderr) }).toEqual({
        code: 2,
        diagnostics: c.expected,
      });
      expect(res.stdout).not.toMatch(/^ok /m);
    } finally {
      await fixture.remove();
    }
  });
});

describe('isobuild validate on valid repos', () => {
  test('the sample repos all validate: ok NAME for each, exit 0', async () => {
    const res = await runCli(
      ['validate', '--repos', join(ROOT, 'repos'), 'centos-6.9', 'debian-12', 'photon-1.0', 'photon-2.0'],
      ROOT,
    );
    // No warning: stderr holds only the driver check's line for the repos with drivers.
    for (const line of res.stderr.split('\n').filter(Boolean))
      expect(line).toMatch(
        /^[\w.-]+: drivers (not checked \(no module list known: build iso-base once\)|\d+ checked against kernel )/,
      );
    expect(res.stdout).toBe('ok  centos-6.9\nok  debian-12\nok  photon-1.0\nok  photon-2.0\n');
    expect(res.code).toBe(0);
  });

  test('a repo name resolves under --repos; warnings are printed but do not fail', async () => {
    const fixture = await makeRepo('photon-2.0', {
      'repo-spec.json': spec({ name: 'photon-2.0', packagemanager: 'tdnf', apt: { variant: 'minbase' } }),
      'photon.repo': '[photon]\nbaseurl=file:///srv/photon\n',
    });
    try {
      const res = await runCli(['validate', '--repos', fixture.root, 'photon-2.0'], '/');
      expect(res.code).toBe(0);
      expect(res.stdout).toBe('ok  photon-2.0\n');
      expect(res.stderr).toContain(
        '/apt: ignored: the apt section only applies to packagemanager "apt" (this repo uses tdnf); remove it',
      );
    } finally {
      await fixture.remove();
    }
  });

  test('one invalid repo among valid ones: ok lines for the valid, diagnostics for the invalid, exit 2', async () => {
    const fixture = await makeRepo('debian-12', { 'repo-spec.json': spec() });
    const bad = await makeRepo('debian-11', { 'repo-spec.json': spec({ name: 'debian-11', init: 'init' }) });
    try {
      const res = await runCli(['validate', fixture.dir, bad.dir], bad.root);
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('ok  debian-12\n');
      expect(diagnostics(res.stderr)).toEqual([
        'debian-11/repo-spec.json:5:11 /init: must be an absolute path (starting with /)',
      ]);
    } finally {
      await fixture.remove();
      await bad.remove();
    }
  });

  test('--json prints a validation event per repo with its diagnostics, then the error event', async () => {
    const bad = await makeRepo('debian-12', { 'repo-spec.json': spec({ compression: 'brotli' }) });
    try {
      const res = await runCli(['validate', '--json', 'debian-12'], bad.root);
      expect(res.code).toBe(2);
      const events = parseEvents(res.stdout);
      expect(events.map((e) => e.type)).toEqual(['validation', 'error']);
      expect(events[1]).toMatchObject({
        kind: 'spec',
        exitCode: 2,
        diagnostics: [{ pointer: '/compression' }],
      });
      expect(events.slice(0, 1)).toEqual([
        {
          type: 'validation',
          repo: 'debian-12',
          path: 'debian-12',
          valid: false,
          errors: [
            {
              file: 'debian-12/repo-spec.json',
              line: 9,
              col: 18,
              pointer: '/compression',
              message: 'must be one of "auto", "lz4", "gzip", "zstd", "xz"',
              rule: 'schema',
            },
          ],
          warnings: [],
        },
      ]);
    } finally {
      await bad.remove();
    }
  });

  test('an unknown repo name is a usage error (exit 2) with a suggestion', async () => {
    const res = await runCli(['validate', '--repos', join(ROOT, 'repos'), 'debain-12'], ROOT);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('no repo "debain-12" in repos (did you mean "debian-12"?)');
  });
});

// Keep BASE_SPEC's shape in view: the line numbers above follow JSON.stringify(..., null, 2) of it.
test('the fixture spec keeps the layout the expected positions assume', () => {
  expect(Object.keys(BASE_SPEC)).toEqual(['name', 'packagemanager', 'kernel', 'init', 'packages']);
});

describe("isobuild validate, plan and build check the drivers against a cached iso-base's kernel (entry laid out by hand, no build)", () => {
  const INIT = '#!/bin/bash\ndrivers=(\n  virtio_blk fs-nfs3\n  "virtio_blkk"\n)\n';
  const SPEC = specJson({ drivers: ['ext4', 'wireguard'] });

  test('a driver the kernel lacks is an error at its line of init.sh and of the spec, with exit 2', async () => {
    const fixture = await makeRepo('debian-12', { 'repo-spec.json': SPEC, 'init.sh': INIT });
    try {
      const cache = join(fixture.root, 'cache');
      await makeCachedIsoBase(cache, 'debian-12', {
        key: '0123456789abcdef01234567',
        kernel: { kind: 'package', name: 'linux-image-cloud-amd64' },
      });
      const from =
        '(modules.dep of the cached iso-base cache/stages/debian-12/iso-base-0123456789abcdef01234567)';
      const res = await runCli(['validate', 'debian-12'], fixture.root, { ISOBUILD_CACHE: cache });
      expect({ code: res.code, diagnostics: diagnostics(res.stderr) }).toEqual({
        code: 2,
        diagnostics: [
          `debian-12/init.sh:4:3 /: driver "virtio_blkk" is neither a module nor built into kernel 6.1.0-test ${from}: did you mean "virtio_blk"?`,
          `debian-12/repo-spec.json:11:5 /drivers/1: driver "wireguard" is neither a module nor built into kernel 6.1.0-test ${from}: remove it or pick a kernel that has it`,
        ],
      });
      expect(res.stdout).not.toMatch(/^ok /m);

      const json = await runCli(['validate', '--json', 'debian-12'], fixture.root, { ISOBUILD_CACHE: cache });
      const [ev] = parseEvents(json.stdout);
      expect(ev).toMatchObject({
        type: 'validation',
        valid: false,
        drivers: { checked: true, kernel: '6.1.0-test', note: `5 checked against kernel 6.1.0-test ${from}` },
      });

      const plan = await runCli(['plan', 'debian-12'], fixture.root, { ISOBUILD_CACHE: cache });
      expect(plan.code).toBe(2);
      expect(diagnostics(plan.stderr)).toHaveLength(2);
      // A target that ends before the drivers stage does not need them.
      const isoBase = await runCli(['plan', '--target', 'iso-base', 'debian-12'], fixture.root, {
        ISOBUILD_CACHE: cache,
      });
      expect(isoBase.code).toBe(0);

      // build stops before any stage runs: nothing is added to the cache.
      const build = await runCli(['build', 'debian-12'], fixture.root, { ISOBUILD_CACHE: cache });
      expect({ code: build.code, diagnostics: diagnostics(build.stderr) }).toEqual({
        code: 2,
        diagnostics: diagnostics(res.stderr),
      });
      expect(await readdir(join(cache, 'stages', 'debian-12'))).toEqual([
        'iso-base-0123456789abcdef01234567',
      ]);
      expect(await readdir(cache)).toEqual(['stages']);
    } finally {
      await fixture.remove();
    }
  });

  test('without a cached iso-base the drivers are not checked, and validate says so', async () => {
    const fixture = await makeRepo('debian-12', { 'repo-spec.json': SPEC, 'init.sh': INIT });
    try {
      const cache = join(fixture.root, 'cache');
      const res = await runCli(['validate', 'debian-12'], fixture.root, { ISOBUILD_CACHE: cache });
      expect(res.code).toBe(0);
      expect(res.stdout).toBe('ok  debian-12\n');
      expect(res.stderr).toContain(
        'debian-12: drivers not checked (no module list known: build iso-base once)',
      );
      const plan = await runCli(['plan', 'debian-12'], fixture.root, { ISOBUILD_CACHE: cache });
      expect(plan.stdout).toMatch(
        /^drivers check +not checked \(no module list known: build iso-base once\)$/m,
      );
    } finally {
      await fixture.remove();
    }
  });
});
