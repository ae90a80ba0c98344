import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SHIPPED_REPOS } from './shipped-repos.js';

/**
 * The repos folder: the one given, else ISOBUILD_REPOS, else ./repos; outside a checkout (`npx
 * isobuild photon-2.0` in any folder) there is no ./repos, so the repos the package ships are used.
 */
export function reposDirFor(chosen: string | undefined): string {
  const dir = chosen ?? process.env.ISOBUILD_REPOS;
  if (dir) return resolve(dir);
  return existsSync('repos') ? resolve('repos') : SHIPPED_REPOS;
}
