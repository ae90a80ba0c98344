import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * `build --from-bundle` on an RPM repo: the folder the bundle's repositories were restored to
 * (`repos/<id>/` with repodata/ and the packages at their primary.xml locations, `keys/`). The
 * rebuild's front end reads each bundled repository from there in place of its baseurl; the
 * repo folder's .repo files and the root's copy of them stay as written.
 */
export const RPM_BUNDLE_ENV = 'ISOBUILD_RPM_BUNDLE';

/** The restored bundle the running build is to use, if any. */
export function bundledRpmRepos(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[RPM_BUNDLE_ENV] || undefined;
}

/** The folder of a bundled repository, when the bundle has that repository id. */
export function bundledRepoDir(bundleDir: string, id: string): string | undefined {
  const dir = join(bundleDir, 'repos', id);
  return existsSync(join(dir, 'repodata', 'repomd.xml')) ? dir : undefined;
}

const SECTION = /^\s*\[(.+)\]\s*$/;
const OPTION = /^(\s*)(baseurl|metalink|mirrorlist|gpgkey)(\s*=\s*)(.*)$/i;

/**
 * A .repo text aimed at the restored bundle: each section the bundle has gets its bundled folder
 * as baseurl (file://, right under the header, so a section with only a metalink= gets one too),
 * and loses its own baseurl=, metalink= and mirrorlist= (they would be asked first and need the
 * network); a file:// gpgkey= the bundle carries points at its copy. Sections the bundle lacks
 * and every other line stay as they were.
 */
export function aimRepoFileAtBundle(text: string, bundleDir: string): string {
  let dir: string | undefined;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const section = SECTION.exec(line);
    if (section) {
      dir = bundledRepoDir(bundleDir, section[1]!.trim());
      out.push(line, ...(dir ? [`baseurl=file://${dir}/`] : []));
      continue;
    }
    const option = dir ? OPTION.exec(line) : null;
    if (!option) out.push(line);
    else if (option[2]!.toLowerCase() === 'gpgkey')
      out.push(
        `${option[1]}${option[2]}${option[3]}${option[4]!
          .split(/[\s,]+/)
          .filter(Boolean)
          .map((u) => bundledKeyUrl(bundleDir, u))
          .join(' ')}`,
      );
  }
  return out.join('\n');
}

/** A file:// key URL the bundle carries a copy of, pointed at that copy; other URLs as they were. */
function bundledKeyUrl(bundleDir: string, url: string): string {
  if (!url.startsWith('file://')) return url;
  const copy = join(bundleDir, 'keys', basename(decodeURIComponent(url.slice('file://'.length))));
  return existsSync(copy) ? `file://${copy}` : url;
}
