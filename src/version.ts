import { readFileSync } from 'node:fs';

/** isobuild's version, from package.json (stamped into ISO volume ids and cache keys). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
