import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The spec file names a repo folder may hold (exactly one of them). */
export const SPEC_FILE_NAMES = ['repo-spec.json', 'repo-spec.yaml', 'repo-spec.yml'] as const;

/** VIC's hook files, found by name in the repo folder. */
export const HOOK_FILES = { base: 'base.sh', staging: 'staging.sh', init: 'init.sh' } as const;

/** What a repo folder holds besides the spec, found by name (absolute paths, sorted). */
export interface FolderContents {
  specFiles: string[];
  repoFiles: string[];
  gpgKeys: string[];
  sourcesFiles: string[];
  hooks: { base?: string; staging?: string; init?: string };
}

export async function scanRepoFolder(repoDir: string): Promise<FolderContents> {
  const entries = await readdir(repoDir, { withFileTypes: true });
  // Symlinks count as files here; the files-inside-repo rule checks where they lead.
  const names = entries
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => e.name)
    .sort();
  const pick = (test: (n: string) => boolean) => names.filter(test).map((n) => join(repoDir, n));
  const hook = (n: string) => (names.includes(n) ? join(repoDir, n) : undefined);
  return {
    specFiles: pick((n) => (SPEC_FILE_NAMES as readonly string[]).includes(n)),
    repoFiles: pick((n) => n.endsWith('.repo')),
    gpgKeys: pick((n) => n.endsWith('.gpg') || n.endsWith('.asc') || n.includes('GPG-KEY')),
    sourcesFiles: pick((n) => n.endsWith('.sources') || n === 'sources.list'),
    hooks: {
      base: hook(HOOK_FILES.base),
      staging: hook(HOOK_FILES.staging),
      init: hook(HOOK_FILES.init),
    },
  };
}
