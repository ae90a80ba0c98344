import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError, UsageError } from '../../../src/errors.js';
import { errorEvent } from '../../../src/log/events.js';
import { commonFolder, planMirror, rewriteBaseurls, shippedRepoHint } from '../../../src/pm/rpm-mirror.js';
import { parseRepoFile } from '../../../src/pm/rpm-repo-files.js';
import { SHIPPED_REPOS } from '../../../src/spec/shipped-repos.js';

const REPOS = fileURLToPath(new URL('../../../repos', import.meta.url));
const baseurls = (text: string) => parseRepoFile(text).map((s) => s.options.baseurl);

describe('build --mirror on .repo files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-mirror-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const repoFile = async (name: string, text: string) => {
    const f = join(dir, name);
    await writeFile(f, text);
    return f;
  };

  test.each([
    ['photon-2.0/photon.repo', 'https://packages.vmware.com/photon/2.0/'],
    ['photon-1.0/photon.repo', 'https://packages.vmware.com/photon/1.0/'],
    ['centos-6.9/centos-6.9.repo', 'https://vault.centos.org/6.9/'],
  ])('the sample %s: the mirror stands in for %s', async (file, from) => {
    expect(await planMirror([join(REPOS, file)], 'file:///srv/mirror')).toEqual({
      from,
      to: 'file:///srv/mirror/',
    });
  });

  test('rewrites only the baseurls, keeping every other line and the part below the shared folder', async () => {
    const file = join(REPOS, 'photon-2.0/photon.repo');
    const text = await readFile(file, 'utf8');
    const out = rewriteBaseurls(text, await planMirror([file], 'http://10.0.0.5:8080/photon2'));
    expect(baseurls(out)).toEqual([
      'http://10.0.0.5:8080/photon2/photon_release_2.0_x86_64/',
      'http://10.0.0.5:8080/photon2/photon_updates_2.0_x86_64/',
    ]);
    const others = (t: string) => t.split('\n').filter((l) => !l.startsWith('baseurl='));
    expect(others(out)).toEqual(others(text));
  });

  test('one repository: the mirror replaces its whole baseurl, with or without a trailing slash', async () => {
    const f = await repoFile('one.repo', '[one]\nBaseURL = https://example.org/dist/$releasever/os\n');
    const m = await planMirror([f], 'file:///srv/copy/');
    expect(m).toEqual({ from: 'https://example.org/dist/$releasever/os/', to: 'file:///srv/copy/' });
    expect(rewriteBaseurls(await readFile(f, 'utf8'), m)).toBe('[one]\nBaseURL = file:///srv/copy/\n');
  });

  test('several URLs on one baseurl line, across files, disabled repositories too; local ones stay', async () => {
    const a = await repoFile(
      'a.repo',
      '[a]\nbaseurl=https://m.example/el/9/os/ https://m.example/el/9/os2/\n',
    );
    const b = await repoFile(
      'b.repo',
      '[b]\nbaseurl=https://m.example/el/9/extras/\nenabled=0\n[local]\nbaseurl=file:///opt/rpms/\n',
    );
    const m = await planMirror([a, b], 'https://mirror.local/el9');
    expect(m.from).toBe('https://m.example/el/9/');
    expect(baseurls(rewriteBaseurls(await readFile(a, 'utf8'), m))).toEqual([
      'https://mirror.local/el9/os/ https://mirror.local/el9/os2/',
    ]);
    expect(baseurls(rewriteBaseurls(await readFile(b, 'utf8'), m))).toEqual([
      'https://mirror.local/el9/extras/',
      'file:///opt/rpms/',
    ]);
  });

  test('commonFolder compares whole path segments', () => {
    expect(commonFolder(['https://h/photon/2.0/a/', 'https://h/photon/2.01/b/'])).toBe('https://h/photon/');
    expect(commonFolder(['https://h/a/', 'https://other/a/'])).toBeUndefined();
  });

  test.each([
    [
      'a mirror that is not a URL',
      '[x]\nbaseurl=https://h/x/\n',
      '/srv/mirror',
      /--mirror takes an http\(s\):\/\/, ftp:\/\/ or file:\/\/ URL, not "\/srv\/mirror"/,
    ],
    [
      'no remote baseurl',
      '[x]\nmirrorlist=https://h/list\n[y]\nbaseurl=file:///srv/y/\n',
      'file:///m',
      /--mirror: x\.repo has no http\(s\):\/\/ or ftp:\/\/ baseurl= to point at a mirror/,
    ],
    [
      'two hosts',
      '[x]\nbaseurl=https://one/x/\n[y]\nbaseurl=https://two/y/\n',
      'file:///m',
      /--mirror: the baseurl= lines of x\.repo name several hosts \(https:\/\/one, https:\/\/two\), which one mirror cannot stand in for: copy the repo \(isobuild new\)/,
    ],
  ])('refuses %s with a usage error', async (_, text, mirror, message) => {
    const f = await repoFile('x.repo', text);
    const err = await planMirror([f], mirror).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('a shipped sample whose repositories cannot be reached', () => {
  // dnf's words when the connection is refused, from a real run (test/integration/rpm-mirror.test.ts checks them live).
  const DNF_FAILURE = [
    "Errors during downloading metadata for repository 'offline':",
    "  - Curl error (7): Couldn't connect to server for http://127.0.0.1:1/offline/repodata/repomd.xml [Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server]",
    "Error: Failed to download metadata for repo 'offline': Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried",
  ].join('\n');

  test('says how to copy it or point it at a mirror', () => {
    expect(shippedRepoHint(join(SHIPPED_REPOS, 'photon-2.0'), DNF_FAILURE)).toBe(
      'photon-2.0 is a sample shipped with isobuild and its repositories could not be reached from here. ' +
        'Point it at a mirror you can reach: isobuild build photon-2.0 --mirror <URL> (or ISOBUILD_MIRROR=<URL>), ' +
        'or copy it and edit its .repo files: isobuild new mine --from photon-2.0 (docs/package-managers.md, "Mirrors")',
    );
  });

  test('says nothing for a repo of the user’s own or for another failure', async () => {
    expect(shippedRepoHint('/home/me/repos/photon-2.0', DNF_FAILURE)).toBeUndefined();
    expect(
      shippedRepoHint(join(SHIPPED_REPOS, 'photon-2.0'), 'No match for argument: linux-esx'),
    ).toBeUndefined();
    expect(await readdir(SHIPPED_REPOS)).toContain('photon-2.0');
  });

  test('the hint rides on the command error, in the message and in the error event', () => {
    const err = new CommandError(
      'command failed (exit status 1)',
      { stage: 'iso-base', command: 'dnf install x', exitCode: 1, outputTail: DNF_FAILURE },
      { cause: 'res' },
    );
    const hinted = err.withHint('do this');
    expect(hinted.message).toBe('stage iso-base: command failed (exit status 1)\n  do this');
    expect(hinted.stage).toBe('iso-base');
    expect(hinted.cause).toBe('res');
    expect(errorEvent(hinted, 1)).toMatchObject({
      stage: 'iso-base',
      command: 'dnf install x',
      hint: 'do this',
    });
  });
});
