// The bench's mkosi column: mkosi building the same package set, timed in the same run.
//
// Debian 12's own mkosi (14) cannot build bookworm images here, so when no mkosi ≥ 20 is on PATH
// the bench takes mkosi from bookworm-backports: its .deb is fetched from the host's own Debian
// mirror (read from the host's apt sources, never written down here), checked against the
// signed InRelease and the Packages index, and run from its unpacked tree with python3.
//
// mkosi writes its own apt sources (deb.debian.org, with -debug and -security suites) unless the
// package-manager tree already has `mkosi.sources`: the bench puts a copy of the host's there, so
// mkosi reaches the same mirror isobuild does.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BACKPORTS = 'bookworm-backports';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** The host's apt sources: deb822 `.sources` files and one-line `.list` files, enabled ones only. */
function hostSourceFiles() {
  const dir = '/etc/apt/sources.list.d';
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.sources') || f.endsWith('.list'))
        .map((f) => join(dir, f))
    : [];
  return existsSync('/etc/apt/sources.list') ? ['/etc/apt/sources.list', ...files] : files;
}

/** The first Debian archive the host's apt uses (the one serving the bookworm suite). */
function hostDebianMirror() {
  for (const file of hostSourceFiles()) {
    const text = readFileSync(file, 'utf8');
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1] ?? '';
      if (uris && suites.split(/\s+/).includes('bookworm')) return uris.replace(/\/$/, '');
    }
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    if (line) return line[1].replace(/\/$/, '');
  }
  return undefined;
}

function fetchTo(url, file) {
  execFileSync('curl', ['-fsSL', '--retry', '3', '-o', file, url], { stdio: ['ignore', 'ignore', 'pipe'] });
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The backports mkosi, fetched once into `dir` and verified; the folder to put on PYTHONPATH. */
function backportsMkosi(dir) {
  const pythonPath = join(dir, 'root/usr/lib/python3/dist-packages');
  if (existsSync(join(pythonPath, 'mkosi'))) return pythonPath;
  const mirror = hostDebianMirror();
  if (!mirror) throw new Error('no Debian bookworm source in the host apt configuration');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const inRelease = join(dir, 'InRelease');
  fetchTo(`${mirror}/dists/${BACKPORTS}/InRelease`, inRelease);
  const release = execFileSync('gpgv', ['--keyring', KEYRING, '--output', '-', inRelease], {
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  const indexName = 'main/binary-all/Packages.xz';
  const indexSum = new RegExp(`^ ([0-9a-f]{64})\\s+\\d+ ${indexName.replace(/\./g, '\\.')}$`, 'm').exec(
    release.slice(release.indexOf('SHA256:')),
  )?.[1];
  if (!indexSum) throw new Error(`${BACKPORTS} InRelease lists no ${indexName}`);
  const index = join(dir, 'Packages.xz');
  fetchTo(`${mirror}/dists/${BACKPORTS}/${indexName}`, index);
  if (sha256(index) !== indexSum) throw new Error(`${indexName}: checksum differs from InRelease`);

  const packages = execFileSync('xz', ['-dc', index], { maxBuffer: 1 << 30 }).toString();
  const stanza = packages.split('\n\n').find((s) => /^Package: mkosi$/m.test(s));
  const filename = stanza && /^Filename: (\S+)/m.exec(stanza)?.[1];
  const debSum = stanza && /^SHA256: (\S+)/m.exec(stanza)?.[1];
  if (!filename || !debSum) throw new Error(`no mkosi in ${BACKPORTS}`);
  const deb = join(dir, 'mkosi.deb');
  fetchTo(`${mirror}/${filename}`, deb);
  if (sha256(deb) !== debSum) throw new Error(`${filename}: checksum differs from the Packages index`);
  execFileSync('dpkg-deb', ['-x', deb, join(dir, 'root')]);
  return pythonPath;
}

/** How to run mkosi here: a new enough one on PATH, else backports' from its unpacked .deb. */
function findMkosi(toolDir) {
  const onPath = spawnSync('mkosi', ['--version'], { encoding: 'utf8' });
  const major = Number(/mkosi (\d+)/.exec(onPath.stdout ?? '')?.[1] ?? 0);
  if (onPath.status === 0 && major >= 20) return { command: ['mkosi'], env: process.env };
  const pythonPath = backportsMkosi(toolDir);
  const env = { ...process.env, PYTHONPATH: pythonPath };
  return { command: ['python3', '-m', 'mkosi'], env };
}

const lastLine = (res) =>
  (res.stderr || res.stdout || String(res.error ?? `exit ${res.status}`)).trim().split('\n').slice(-1)[0];

/**
 * mkosi's builds of `packages` (the kernel among them) as a zstd cpio, in `dir`: its version,
 * the cold build with packages cached (a first, untimed build fills mkosi.cache as the bench's
 * first isobuild build fills isobuild's) and the no-op rebuild; or the reason it could not.
 */
export function runMkosi({ dir, toolDir, release, packages, time }) {
  let mkosi;
  try {
    mkosi = findMkosi(toolDir);
  } catch (err) {
    return { error: `could not get mkosi: ${err.message.split('\n')[0]}` };
  }
  const run = (...args) =>
    spawnSync(mkosi.command[0], [...mkosi.command.slice(1), ...args], {
      cwd: dir,
      env: mkosi.env,
      encoding: 'utf8',
      timeout: 600_000,
    });
  mkdirSync(join(dir, 'mkosi.cache'), { recursive: true });
  const version = run('--version').stdout?.trim();
  const sources = join(dir, 'mkosi.pkgmngr/etc/apt/sources.list.d');
  mkdirSync(sources, { recursive: true });
  const deb822 = hostSourceFiles().filter((f) => f.endsWith('.sources'));
  const oneLine = hostSourceFiles().filter((f) => f.endsWith('.list'));
  writeFileSync(join(sources, 'mkosi.sources'), deb822.map((f) => readFileSync(f, 'utf8')).join('\n'));
  if (oneLine.length)
    writeFileSync(join(sources, 'host.list'), oneLine.map((f) => readFileSync(f, 'utf8')).join('\n'));
  writeFileSync(
    join(dir, 'mkosi.conf'),
    [
      '[Distribution]',
      'Distribution=debian',
      `Release=${release}`,
      '[Output]',
      'Format=cpio',
      '[Content]',
      `Packages=${packages.join(',')}`,
      '',
    ].join('\n'),
  );

  const warm = run('--force', 'build');
  if (warm.status !== 0) return { version, error: lastLine(warm) };
  const cold = time(() => run('--force', 'build'));
  if (cold.out.status !== 0) return { version, error: lastLine(cold.out) };
  const noop = time(() => run('build'));
  return { version, cold: cold.seconds, noop: noop.seconds };
}
