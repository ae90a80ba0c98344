import type { GrowBase } from './types.js';

/** The key prefix the build output and `plan --explain` name an entry by. */
export function shortKey(key: string): string {
  return key.slice(0, 8);
}

/** "incremental from 7240ef9e (+less)", as the build output and `plan --explain` say it. */
export function describeGrowth(base: Pick<GrowBase, 'key' | 'added'>): string {
  return `incremental from ${shortKey(base.key)} (+${base.added.join(' ')})`;
}
