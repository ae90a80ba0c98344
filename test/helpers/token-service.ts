import { sign, type KeyObject, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';

/**
 * A docker token service for tests: the realm a registry configured with `auth: token:`
 * sends clients to. It checks a Basic login and issues an RS256 JWT with the granted
 * `access`, signed by a self-signed certificate the registry trusts (its rootcertbundle).
 */
export interface TokenService {
  realm: string;
  /** The registry's `auth:` section. */
  registryConfig: string;
  /** Scopes asked for, in order, and whether a login came with them. */
  requests: { scope: string; login: string | undefined }[];
  close(): Promise<void>;
}

const SERVICE = 'isobuild-test-registry';
const ISSUER = 'isobuild-test-token-service';
const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export async function startTokenService(dir: string, users: Record<string, string>): Promise<TokenService> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=isobuild test token service',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  const key: KeyObject = createPrivateKey(await readFile(keyFile));
  const cert = new X509Certificate(await readFile(certFile));
  const requests: TokenService['requests'] = [];

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const scope = url.searchParams.get('scope') ?? '';
    const auth = req.headers.authorization;
    const login = auth?.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : undefined;
    requests.push({ scope, login });
    const [user, password] = login
      ? [login.slice(0, login.indexOf(':')), login.slice(login.indexOf(':') + 1)]
      : [];
    if (!user || users[user] !== password) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad login"}');
      return;
    }
    const [, name, actions] = /^repository:(.+):([a-z,]+)$/.exec(scope) ?? [];
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [cert.raw.toString('base64')] };
    const claims = {
      iss: ISSUER,
      sub: user,
      aud: SERVICE,
      iat: now,
      nbf: now - 10,
      exp: now + 300,
      jti: `${now}-${requests.length}`,
      access: name ? [{ type: 'repository', name, actions: actions!.split(',') }] : [],
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${signingInput}.${b64url(sign('sha256', Buffer.from(signingInput), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  const realm = `http://127.0.0.1:${port}/token`;
  await writeFile(join(dir, 'realm'), realm);
  return {
    realm,
    registryConfig: [
      'auth:',
      '  token:',
      `    realm: ${realm}`,
      `    service: ${SERVICE}`,
      `    issuer: ${ISSUER}`,
      `    rootcertbundle: ${certFile}`,
    ].join('\n'),
    requests,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
