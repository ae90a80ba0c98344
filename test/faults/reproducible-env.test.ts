import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, SHIPPED_REPOS } from './fake-build.js';

// Fault row "the same build under umask 077, another TZ and locale, another checkout path": the
// debian-12 bootstrap ISO built twice through the real CLI (the suite's one real build pair),
// the second under umask 077, another time zone, locale, HOME, user, repo checkout path, cache
// path and working folder, with variations scripted as reprotest would make them. The second
// build's package download cache is seeded from the first's (downloaded .debs are inputs, not
// outputs; it saves a second download). Directory entry order is not varied (no disorderfs).
const JEST_MS = 1_800_000;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-repro-env-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

interface Variant {
  root: string;
  repos: string;
  cache: string;
  cwd: string;
  umask: string;
  env: Record<string, string>;
}

async function build(v: Variant) {
  await mkdir(v.cwd, { recursive: true });
  await cp(join(SHIPPED_REPOS, 'debian-12'), join(v.repos, 'debian-12'), { recursive: true });
  const out = join(v.root, 'out');
  const res = await execa(
    'sh',
    [
      '-c',
      `umask ${v.umask} && exec node "$@"`,
      'sh',
      CLI,
      'build',
      'debian-12',
      '--target',
      'bootstrap',
      '--output',
      join(out, 'bootstrap.iso'),
      '--export',
      join(out, 'root.tar'),
    ],
    {
      cwd: v.cwd,
      extendEnv: false,
      env: {
        PATH: process.env.PATH!,
        ISOBUILD_CACHE: v.cache,
        ISOBUILD_REPOS: v.repos,
        NO_COLOR: '1',
        ...v.env,
      },
      reject: false,
      all: true,
    },
  );
  if (res.exitCode !== 0) throw new Error(`build failed (${res.exitCode}):\n${res.all}`);
  const stages = join(v.cache, 'stages', 'debian-12');
  const initrdEntry = (await readdir(stages)).find((n) => n.startsWith('initrd-'))!;
  return {
    iso: await sha256(join(out, 'bootstrap.iso')),
    initrd: await sha256(join(stages, initrdEntry, 'artifacts', 'initrd.img')),
    root: await sha256(join(out, 'root.tar')),
    rootListing: (await execa('tar', ['-tvf', join(out, 'root.tar'), '--numeric-owner'])).stdout,
  };
}

test(
  'umask, TZ, locale, HOME, user, checkout and cache paths change no byte of the ISO, initrd or root',
  async () => {
    const a: Variant = {
      root: join(dir, 'a'),
      repos: join(dir, 'a', 'repos'),
      cache: join(dir, 'a', 'cache'),
      cwd: join(dir, 'a'),
      umask: '022',
      env: { TZ: 'UTC', LANG: 'C.UTF-8', HOME: '/root', USER: 'root' },
    };
    const b: Variant = {
      root: join(dir, 'b'),
      repos: join(dir, 'b', 'another', 'checkout', 'repos'),
      cache: join(dir, 'b', 'elsewhere', 'cache-b'),
      cwd: join(dir, 'b', 'work', 'folder'),
      umask: '077',
      env: {
        TZ: 'Pacific/Kiritimati',
        LANG: 'fr_FR.UTF-8',
        LC_ALL: 'fr_FR.UTF-8',
        HOME: join(dir, 'b', 'home'),
        USER: 'someone',
        LOGNAME: 'someone',
        ISOBUILD_UNRELATED: 'x',
      },
    };
    const first = await build(a);
    await mkdir(join(b.cache, 'package-cache'), { recursive: true });
    await cp(join(a.cache, 'package-cache'), join(b.cache, 'package-cache'), {
      recursive: true,
      preserveTimestamps: true,
    });
    const second = await build(b);
    // The root folder and the init layer's folders keep 0755 under umask 077.
    for (const path of ['./', './etc/isobuild/', './usr/lib/isobuild/']) {
      const line = second.rootListing.split('\n').find((l) => l.endsWith(` ${path}`));
      if (line) expect(line).toMatch(/^drwxr-xr-x /);
    }
    expect(second.rootListing.split('\n').find((l) => l.endsWith(' ./'))).toMatch(/^drwxr-xr-x /);
    expect({ iso: second.iso, initrd: second.initrd, root: second.root }).toEqual({
      iso: first.iso,
      initrd: first.initrd,
      root: first.root,
    });
  },
  JEST_MS,
);
