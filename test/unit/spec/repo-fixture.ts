import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A minimal valid apt spec; cases override fields. */
export const BASE_SPEC = {
  name: 'debian-12',
  packagemanager: 'apt',
  kernel: 'linux-image-cloud-amd64',
  init: '/bin/init',
  packages: { base: 'bash busybox' },
};

export interface RepoFixture {
  /** Temp dir holding the repo folder (and anything a case puts beside it). */
  root: string;
  /** The repo folder. */
  dir: string;
  remove(): Promise<void>;
}

/**
 * A repo folder in a fresh temp dir. `files` maps names (relative to the repo folder) to
 * contents; a value `{ symlink: target }` makes a symlink instead.
 */
export async function makeRepo(
  folderName: string,
  files: Record<string, string | { symlink: string }>,
): Promise<RepoFixture> {
  const root = await mkdtemp(join(tmpdir(), 'isobuild-spec-test-'));
  const dir = join(root, folderName);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    if (typeof content === 'string') await writeFile(path, content);
    else await symlink(content.symlink, path);
  }
  return { root, dir, remove: () => rm(root, { recursive: true, force: true }) };
}

export function specJson(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...BASE_SPEC, ...overrides }, null, 2) + '\n';
}
