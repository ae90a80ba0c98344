import { fileURLToPath } from 'node:url';

/**
 * The repos the npm package ships (beside dist/): used when there is no ./repos. Its own module,
 * with no imports of ours, so the package managers can ask whether a repo is one of them.
 */
export const SHIPPED_REPOS = fileURLToPath(new URL('../../repos', import.meta.url));
