import { UsageError } from '../errors.js';

/**
 * A registry repository as users write it: `ghcr.io/org/isobuild-cache`,
 * `127.0.0.1:5000/cache`. Tags are isobuild's (one per stage key), so a reference that
 * already carries one is refused rather than silently ignored.
 */
export interface RepositoryRef {
  /** host[:port] as written, e.g. `ghcr.io` or `127.0.0.1:5000`. */
  host: string;
  /** Repository path, e.g. `org/isobuild-cache`. */
  repository: string;
  /** Where the distribution API lives: `https://ghcr.io`, or `http://127.0.0.1:5000` for loopback. */
  baseUrl: string;
  /** The reference as given, for messages. */
  text: string;
}

/** The distribution spec's repository name grammar, one path component. */
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** Plain HTTP only for the local machine, as docker and podman allow. */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Docker Hub's registry answers on another host than its name. */
const HOST_ALIASES: Record<string, string> = { 'docker.io': 'registry-1.docker.io' };

export function parseRepositoryRef(text: string, what = 'registry reference'): RepositoryRef {
  const trimmed = text.trim().replace(/^(oci|docker):\/\//, '');
  const slash = trimmed.indexOf('/');
  const host = slash === -1 ? '' : trimmed.slice(0, slash);
  const repository = slash === -1 ? '' : trimmed.slice(slash + 1);
  if (!host || (!/[.:]/.test(host) && host !== 'localhost'))
    throw new UsageError(
      `${what} "${text}": name the registry host and a repository, e.g. ghcr.io/org/isobuild-cache or 127.0.0.1:5000/isobuild-cache`,
    );
  if (/[@]/.test(repository) || /:[^/]*$/.test(repository))
    throw new UsageError(
      `${what} "${text}": give a repository without a tag or digest; isobuild tags each stage entry with its cache key`,
    );
  const bad = repository.split('/').find((c) => !COMPONENT.test(c));
  if (bad !== undefined)
    throw new UsageError(
      `${what} "${text}": "${bad}" is not a valid repository path component (lowercase letters, digits, and . _ - between them)`,
    );
  const hostname = host.replace(/:\d+$/, '');
  const scheme = LOOPBACK.has(hostname) ? 'http' : 'https';
  const apiHost = HOST_ALIASES[host] ?? host;
  if (host === 'docker.io' && !repository.includes('/'))
    return { host, repository: `library/${repository}`, baseUrl: `${scheme}://${apiHost}`, text };
  return { host, repository, baseUrl: `${scheme}://${apiHost}`, text };
}
