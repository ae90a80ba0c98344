import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { HOST_TRUSTED_PARTS, prepareKeys } from './apt-keys.js';
import type { Arch } from '../spec/arch.js';

/**
 * An apt that works on no root: what it needs besides its scratch folder `work`. Both users
 * want the bootstrap's own view: the kernel fetched beside mmdebstrap and the sources' index
 * (`isobuild lock`, `diff`: what the sources can still provide).
 */
export interface StandaloneApt {
  /** The sources files mmdebstrap gets (copied into work's sources.list.d). */
  readonly sources: readonly string[];
  /** The spec's keys (keyrings or armoured keys); none: the host's trusted keys. */
  readonly gpgKeys: readonly string[];
  readonly lists: string;
  readonly archives: string;
  /** The architecture whose packages it reads and fetches (an arm64 build's apt on this amd64 host). */
  readonly arch: Arch;
}

/**
 * apt's own architecture is the host's: a root for another one needs apt told, or it reads the
 * amd64 lists and fetches amd64 packages into an arm64 root. Only that architecture, so the
 * lists of no other are fetched.
 */
export function aptArchConfig(arch: Arch): string {
  return [`APT::Architecture "${arch}";`, `APT::Architectures { "${arch}"; };`, ''].join('\n');
}

/** Lays out `work` and writes the apt.conf that points apt at it; returns its path (for APT_CONFIG). */
export async function writeStandaloneAptConfig(work: string, apt: StandaloneApt): Promise<string> {
  const dirs = await makeStandaloneAptDirs(work, apt.sources);
  const keys = await prepareKeys(apt.gpgKeys, join(work, 'keyring'));
  const config = join(work, 'apt.conf');
  await writeFile(
    config,
    makeAptStandaloneConfig({
      ...dirs,
      trustedParts: keys?.keyringDir ?? HOST_TRUSTED_PARTS,
      lists: apt.lists,
      archives: apt.archives,
    }) + aptArchConfig(apt.arch),
  );
  return config;
}

/** The folders of an apt that works on no root, under `work`: the sources copied in, the rest empty. */
async function makeStandaloneAptDirs(
  work: string,
  sources: readonly string[],
): Promise<{ etc: string; state: string; cache: string }> {
  const etc = join(work, 'etc');
  const dirs = { etc, state: join(work, 'state'), cache: join(work, 'cache') };
  for (const dir of ['sources.list.d', 'apt.conf.d', 'preferences.d'])
    await mkdir(join(etc, dir), { recursive: true });
  await mkdir(dirs.cache, { recursive: true });
  await mkdir(dirs.state, { recursive: true });
  await writeFile(join(dirs.state, 'status'), '');
  for (const [i, file] of sources.entries()) {
    const text = await readFile(file, 'utf8');
    await writeFile(join(etc, 'sources.list.d', standaloneSourcesName(i, text)), text);
  }
  return dirs;
}

/** mmdebstrap reads a sources file of any name; apt's sources.list.d only *.list and *.sources. */
export function standaloneSourcesName(index: number, text: string): string {
  return `${String(index).padStart(2, '0')}-isobuild.${/^Types:/im.test(text) ? 'sources' : 'list'}`;
}

/**
 * apt.conf for downloading without a root: the configuration folder is `etc` (the bootstrap's
 * sources, no pins, no apt.conf.d: nothing of the host's but its keys, so it picks what the
 * root's apt would), an empty dpkg status, the package cache's lists and archives, a binary
 * cache in `cache` (a scratch folder).
 */
export function makeAptStandaloneConfig(dirs: {
  etc: string;
  state: string;
  cache: string;
  trustedParts: string;
  lists: string;
  archives: string;
}): string {
  for (const dir of Object.values(dirs))
    if (/["\n\\]/.test(dir)) throw new BuildError(`apt cannot use a path with quotes or newlines: ${dir}`);
  return [
    'Dir "/";',
    `Dir::Etc "${dirs.etc}/";`,
    `Dir::Etc::TrustedParts "${dirs.trustedParts}/";`,
    `Dir::State "${dirs.state}/";`,
    `Dir::State::status "${dirs.state}/status";`,
    `Dir::State::Lists "${dirs.lists}/";`,
    `Dir::Cache "${dirs.cache}/";`,
    `Dir::Cache::Archives "${dirs.archives}/";`,
    // A binary cache in the scratch folder: built by the first apt-cache (~0.7 s of parsing the
    // lists), read by the second and by apt-get download (~0.2 s each instead of ~0.7 s).
    `Dir::Cache::pkgcache "${dirs.cache}/pkgcache.bin";`,
    'Dir::Cache::srcpkgcache "";',
    '',
  ].join('\n');
}
