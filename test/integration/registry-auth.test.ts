import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../src/registry/client.js';
import { findCredentials } from '../../src/registry/credentials.js';
import { OCI_MANIFEST } from '../../src/registry/oci.js';
import { parseRepositoryRef } from '../../src/registry/reference.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTokenService, type TokenService } from '../helpers/token-service.js';

/**
 * docker's bearer-token flow against a real docker-registry configured with `auth: token`:
 * the registry answers 401 with a Bearer challenge, the client logs in at the realm (a small
 * token service in this test, signing JWTs with a certificate the registry trusts) and
 * retries with the token. Credentials come from a docker config file or the token variables.
 */
describe('registry login: the bearer-token flow', () => {
  let dir: string;
  let tokens: TokenService;
  let registry: TestRegistry;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-registry-auth-'));
    tokens = await startTokenService(dir, { ci: 's3cret' });
    registry = await startRegistry(tokens.registryConfig);
  }, 60_000);
  afterAll(async () => {
    await registry?.remove();
    await tokens?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const blob = Buffer.from('a stage entry layer\n');
  const layer = {
    mediaType: 'application/vnd.isobuild.stage.artifact.v1',
    digest: `sha256:${createHash('sha256').update(blob).digest('hex')}`,
    size: blob.length,
  };

  async function clientWith(env: NodeJS.ProcessEnv) {
    const ref = parseRepositoryRef(`${registry.host}/team/stage-cache`);
    return new RegistryClient(ref, { credentials: await findCredentials(ref.host, env) });
  }

  test('with a login from the docker config, push and pull go through the token service', async () => {
    const config = join(dir, 'docker');
    await rm(config, { recursive: true, force: true });
    await mkdir(config);
    const auth = Buffer.from('ci:s3cret').toString('base64');
    await writeFile(join(config, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const client = await clientWith({ DOCKER_CONFIG: config });
    tokens.requests.length = 0;
    expect(await client.pushBlob(layer, blob)).toBe(blob.length);
    await client.putManifest('demo-1', {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: layer,
      layers: [layer],
    });
    expect((await client.readBlob(layer)).toString()).toBe(blob.toString());
    expect(tokens.requests).toEqual([
      { scope: 'repository:team/stage-cache:pull,push', login: 'ci:s3cret' },
      { scope: 'repository:team/stage-cache:pull', login: 'ci:s3cret' },
    ]);
  });

  test('ISOBUILD_REGISTRY_USER and ISOBUILD_REGISTRY_TOKEN log in the same way', async () => {
    const client = await clientWith({ ISOBUILD_REGISTRY_USER: 'ci', ISOBUILD_REGISTRY_TOKEN: 's3cret' });
    expect(await client.hasManifest('demo-1')).toBe(true);
  });

  test('without credentials, or with a wrong password, the registry refuses with a clear message', async () => {
    const anonymous = await clientWith({ DOCKER_CONFIG: join(dir, 'nowhere') });
    await expect(anonymous.hasManifest('demo-1')).rejects.toThrow(
      /GET http:\/\/127\.0\.0\.1:\d+\/token\?service=isobuild-test-registry&scope=repository%3Ateam%2Fstage-cache%3Apull: 401 Unauthorized/,
    );
    const wrong = await clientWith({ ISOBUILD_REGISTRY_USER: 'ci', ISOBUILD_REGISTRY_TOKEN: 'wrong' });
    await expect(wrong.hasManifest('demo-1')).rejects.toThrow(/401 Unauthorized/);
  });
});
