import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import { exists } from '../fs/exists.js';

/**
 * The one place registry logins come from: the stage cache's client asks findCredentials, and
 * the containers tools isobuild runs on registry images (skopeo, buildah) get the same login
 * through registryAuthArgs. In docker's order of precedence for one host:
 * ISOBUILD_REGISTRY_TOKEN (with ISOBUILD_REGISTRY_USER, a login; alone, a bearer token
 * sent as is), then the auth file (registryAuthFile: REGISTRY_AUTH_FILE, else
 * `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`): a `credHelpers` entry for the
 * host, an `auths` entry, the `credsStore` helper.
 */
export type Credentials =
  | { kind: 'login'; username: string; password: string; source: string }
  | { kind: 'token'; token: string; source: string };

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/**
 * The auth file both paths read: REGISTRY_AUTH_FILE (the containers tools' own variable, the
 * file `podman login` and `skopeo login --authfile` write), else the docker config, whose
 * `auths`/`credHelpers` the containers tools read as well.
 */
export function registryAuthFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.REGISTRY_AUTH_FILE || dockerConfigPath(env);
}

/** The registry host of a docker:// reference's path (`ghcr.io/org/x:1` → ghcr.io; `debian:12` → docker.io). */
export function registryHostOf(path: string): string {
  const first = path.split('/')[0]!;
  return path.includes('/') && (/[.:]/.test(first) || first === 'localhost') ? first : 'docker.io';
}

/**
 * Runs `fn` with the arguments that give skopeo or buildah the login findCredentials would use
 * for `host`: with ISOBUILD_REGISTRY_USER/TOKEN, `--authfile` naming a private file written
 * for the call (0600, removed after it), so the secret is never on a command line or in a log;
 * else `--authfile` naming registryAuthFile, when it exists. A bare ISOBUILD_REGISTRY_TOKEN has
 * no auth-file form: the tools then use the auth file alone.
 */
export async function withRegistryAuth<T>(
  host: string,
  fn: (args: string[]) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const username = env.ISOBUILD_REGISTRY_USER;
  const token = env.ISOBUILD_REGISTRY_TOKEN;
  if (username && token) {
    const dir = await mkdtemp(join(tmpdir(), 'isobuild-auth-'));
    try {
      const file = join(dir, 'auth.json');
      const auth = Buffer.from(`${username}:${token}`).toString('base64');
      await writeFile(file, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600 });
      return await fn(['--authfile', file]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const file = registryAuthFile(env);
  return fn((await exists(file)) ? ['--authfile', file] : []);
}

/** `https://index.docker.io/v1/`, `ghcr.io`, `https://ghcr.io` all name a host. */
function hostOfAuthKey(key: string): string {
  const bare = key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return bare === 'index.docker.io' ? 'docker.io' : bare;
}

export async function findCredentials(
  host: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials | undefined> {
  const token = env.ISOBUILD_REGISTRY_TOKEN;
  if (token) {
    const username = env.ISOBUILD_REGISTRY_USER;
    return username
      ? { kind: 'login', username, password: token, source: 'ISOBUILD_REGISTRY_USER/TOKEN' }
      : { kind: 'token', token, source: 'ISOBUILD_REGISTRY_TOKEN' };
  }
  const file = registryAuthFile(env);
  let config: DockerConfig;
  try {
    config = JSON.parse(await readFile(file, 'utf8')) as DockerConfig;
  } catch {
    return undefined;
  }
  const helper = config.credHelpers?.[host];
  if (helper) return fromHelper(helper, host);
  const entry = Object.entries(config.auths ?? {}).find(([key]) => hostOfAuthKey(key) === host)?.[1];
  if (entry) {
    const source = `${file} (auths)`;
    if (entry.identitytoken)
      return { kind: 'login', username: '<token>', password: entry.identitytoken, source };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0)
        return {
          kind: 'login',
          username: decoded.slice(0, colon),
          password: decoded.slice(colon + 1),
          source,
        };
    }
    if (entry.username && entry.password)
      return { kind: 'login', username: entry.username, password: entry.password, source };
  }
  if (config.credsStore) return fromHelper(config.credsStore, host);
  return undefined;
}

/** docker's credential-helper protocol: `docker-credential-<name> get`, the host on stdin. */
async function fromHelper(name: string, host: string): Promise<Credentials | undefined> {
  const res = await run(`docker-credential-${name}`, ['get'], { input: host, allowFailure: true }).catch(
    () => undefined,
  );
  if (!res || res.exitCode !== 0) return undefined;
  try {
    const { Username, Secret } = JSON.parse(res.stdout) as { Username?: string; Secret?: string };
    if (!Secret) return undefined;
    return { kind: 'login', username: Username ?? '', password: Secret, source: `docker-credential-${name}` };
  } catch {
    return undefined;
  }
}
