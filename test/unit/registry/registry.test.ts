import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../src/errors.js';
import { parseChallenge } from '../../../src/registry/client.js';
import { findCredentials, registryHostOf, withRegistryAuth } from '../../../src/registry/credentials.js';
import { parseRepositoryRef } from '../../../src/registry/reference.js';
import { ROOT, runCli } from '../cli/run-cli.js';

describe('registry references', () => {
  test.each([
    ['ghcr.io/org/isobuild-cache', 'ghcr.io', 'org/isobuild-cache', 'https://ghcr.io'],
    ['127.0.0.1:5000/cache', '127.0.0.1:5000', 'cache', 'http://127.0.0.1:5000'],
    ['localhost:5000/a/b', 'localhost:5000', 'a/b', 'http://localhost:5000'],
    ['localhost/a', 'localhost', 'a', 'http://localhost'],
    [
      'registry.example.org:8443/team/cache',
      'registry.example.org:8443',
      'team/cache',
      'https://registry.example.org:8443',
    ],
    ['docker.io/someone/cache', 'docker.io', 'someone/cache', 'https://registry-1.docker.io'],
    ['oci://ghcr.io/org/x', 'ghcr.io', 'org/x', 'https://ghcr.io'],
    // Plain HTTP only for the machine itself: a look-alike host name stays on HTTPS.
    ['127.0.0.1.example.org/x', '127.0.0.1.example.org', 'x', 'https://127.0.0.1.example.org'],
  ])('%s', (text, host, repository, baseUrl) => {
    expect(parseRepositoryRef(text)).toMatchObject({ host, repository, baseUrl });
  });

  test.each([
    ['cache', /name the registry host/],
    ['org/cache', /name the registry host/],
    ['ghcr.io/org/cache:latest', /without a tag or digest/],
    ['ghcr.io/org/cache@sha256:abcd', /without a tag or digest/],
    ['ghcr.io/Org/cache', /"Org" is not a valid repository path component/],
    ['ghcr.io/org//cache', /"" is not a valid/],
  ])('%s is refused', (text, message) => {
    expect(() => parseRepositoryRef(text, '--cache-to')).toThrow(UsageError);
    expect(() => parseRepositoryRef(text, '--cache-to')).toThrow(message);
  });
});

test('WWW-Authenticate challenges', () => {
  expect(
    parseChallenge('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:o/r:pull"'),
  ).toEqual({
    scheme: 'bearer',
    params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:o/r:pull' },
  });
  expect(parseChallenge('Basic realm="basic-realm"')).toEqual({
    scheme: 'basic',
    params: { realm: 'basic-realm' },
  });
  expect(parseChallenge('Bearer realm="a\\"b", error=insufficient_scope')).toEqual({
    scheme: 'bearer',
    params: { realm: 'a"b', error: 'insufficient_scope' },
  });
});

describe('credentials', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-creds-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const config = async (content: object) => {
    await writeFile(join(dir, 'config.json'), JSON.stringify(content));
    return { DOCKER_CONFIG: dir };
  };
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  test('auths entries match by host, whatever the key looks like', async () => {
    const env = await config({
      auths: {
        'https://ghcr.io': { auth: b64('me:pat:with:colons') },
        'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
        'registry.example.org:8443': { identitytoken: 'refresh' },
      },
    });
    expect(await findCredentials('ghcr.io', env)).toMatchObject({
      username: 'me',
      password: 'pat:with:colons',
    });
    expect(await findCredentials('docker.io', env)).toMatchObject({
      username: 'hubuser',
      password: 'hubpass',
    });
    expect(await findCredentials('registry.example.org:8443', env)).toMatchObject({
      username: '<token>',
      password: 'refresh',
    });
    expect(await findCredentials('127.0.0.1:5000', env)).toBeUndefined();
  });

  test('the token variables win over the docker config; a token alone is a bearer token', async () => {
    const env = await config({ auths: { 'ghcr.io': { auth: b64('me:pat') } } });
    expect(await findCredentials('ghcr.io', { ...env, ISOBUILD_REGISTRY_TOKEN: 't0k' })).toEqual({
      kind: 'token',
      token: 't0k',
      source: 'ISOBUILD_REGISTRY_TOKEN',
    });
    expect(
      await findCredentials('ghcr.io', {
        ...env,
        ISOBUILD_REGISTRY_TOKEN: 't0k',
        ISOBUILD_REGISTRY_USER: 'bot',
      }),
    ).toMatchObject({ kind: 'login', username: 'bot', password: 't0k' });
  });

  test('a credential helper is asked with docker’s protocol (the host on stdin)', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    const helper = join(bin, 'docker-credential-isotest');
    await writeFile(
      helper,
      '#!/bin/sh\n[ "$1" = get ] || exit 2\nread host\necho "{\\"Username\\":\\"u-$host\\",\\"Secret\\":\\"s\\"}"\n',
    );
    await chmod(helper, 0o755);
    const env = { ...(await config({ credHelpers: { 'ghcr.io': 'isotest' } })) };
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      expect(await findCredentials('ghcr.io', env)).toMatchObject({ username: 'u-ghcr.io', password: 's' });
    } finally {
      process.env.PATH = path;
    }
  });

  test('no config file, no credentials', async () => {
    expect(await findCredentials('ghcr.io', { DOCKER_CONFIG: join(dir, 'missing') })).toBeUndefined();
  });

  test('REGISTRY_AUTH_FILE is read by the cache and handed to skopeo, in place of the docker config', async () => {
    const authFile = join(dir, 'auth.json');
    await writeFile(authFile, JSON.stringify({ auths: { 'ghcr.io': { auth: b64('podman:login') } } }));
    const env = {
      ...(await config({ auths: { 'ghcr.io': { auth: b64('docker:login') } } })),
      REGISTRY_AUTH_FILE: authFile,
    };
    expect(await findCredentials('ghcr.io', env)).toMatchObject({ username: 'podman', password: 'login' });
    expect(await withRegistryAuth('ghcr.io', async (args) => args, env)).toEqual(['--authfile', authFile]);
    expect(
      await withRegistryAuth('ghcr.io', async (args) => args, { DOCKER_CONFIG: join(dir, 'none') }),
    ).toEqual([]);
  });

  test('ISOBUILD_REGISTRY_USER/TOKEN reach skopeo as a private auth file for the host, removed after the call', async () => {
    const env = { ISOBUILD_REGISTRY_USER: 'ci', ISOBUILD_REGISTRY_TOKEN: 's3cret', DOCKER_CONFIG: dir };
    let seen: { args: string[]; mode: number; content: unknown } | undefined;
    await withRegistryAuth(
      'registry.example.org:8443',
      async (args) => {
        const file = args[1]!;
        seen = {
          args,
          mode: (await stat(file)).mode & 0o777,
          content: JSON.parse(await readFile(file, 'utf8')),
        };
      },
      env,
    );
    expect(seen!.args[0]).toBe('--authfile');
    expect(seen!.args.join(' ')).not.toContain('s3cret');
    expect(seen!.mode).toBe(0o600);
    expect(seen!.content).toEqual({ auths: { 'registry.example.org:8443': { auth: b64('ci:s3cret') } } });
    expect(existsSync(seen!.args[1]!)).toBe(false);
  });

  test.each([
    ['ghcr.io/org/x:1', 'ghcr.io'],
    ['127.0.0.1:5000/x', '127.0.0.1:5000'],
    ['localhost/x', 'localhost'],
    ['debian:12', 'docker.io'],
    ['library/debian', 'docker.io'],
  ])('the registry host of docker://%s is %s', (path, host) => {
    expect(registryHostOf(path)).toBe(host);
  });
});

test('a bad --cache-from is a usage error before any work', async () => {
  const res = await runCli(['build', 'debian-12', '--cache-from', 'ghcr.io/org/cache:latest'], ROOT);
  expect(res.code).toBe(2);
  expect(res.stderr).toMatch(
    /--cache-from "ghcr.io\/org\/cache:latest": give a repository without a tag or digest/,
  );
});
