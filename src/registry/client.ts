import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { cancelSignal } from '../exec/cancel.js';
import { VERSION } from '../version.js';
import { findCredentials, type Credentials } from './credentials.js';
import { DigestMismatchError, RegistryError } from './errors.js';
import { OCI_MANIFEST, parseManifest, type Descriptor, type OciManifest } from './oci.js';
import type { RepositoryRef } from './reference.js';

/**
 * A client for one repository of an OCI distribution registry (distribution-spec v1.1):
 * manifests by tag, blobs by digest, monolithic uploads, and docker's authentication
 * (Basic, or the bearer-token flow a `WWW-Authenticate: Bearer realm=...` challenge asks
 * for). Every byte that comes back is checked against the digest it was asked for.
 */
export type Access = 'pull' | 'pull,push';

const USER_AGENT = `isobuild/${VERSION}`;

export interface ClientOptions {
  credentials?: Credentials;
  /** Per request; a blob transfer gets `blobTimeoutMs`. */
  timeoutMs?: number;
  blobTimeoutMs?: number;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="https://x/token",service="x",scope="repository:a:pull"` */
export function parseChallenge(header: string): Challenge {
  const space = header.indexOf(' ');
  const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([a-zA-Z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g))
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  return { scheme, params };
}

export class RegistryClient {
  /** Authorization header per access level, once a challenge was answered. */
  private readonly authorization = new Map<Access, string>();

  constructor(
    readonly ref: RepositoryRef,
    private readonly options: ClientOptions = {},
  ) {
    if (options.credentials?.kind === 'token') {
      this.authorization.set('pull', `Bearer ${options.credentials.token}`);
      this.authorization.set('pull,push', `Bearer ${options.credentials.token}`);
    }
  }

  static async open(
    ref: RepositoryRef,
    options: Omit<ClientOptions, 'credentials'> = {},
  ): Promise<RegistryClient> {
    return new RegistryClient(ref, { ...options, credentials: await findCredentials(ref.host) });
  }

  private url(path: string): string {
    return `${this.ref.baseUrl}/v2/${this.ref.repository}/${path}`;
  }

  async hasManifest(tag: string): Promise<boolean> {
    const res = await this.request('HEAD', this.url(`manifests/${tag}`), 'pull', {
      headers: { accept: OCI_MANIFEST },
      ok: [200, 404],
    });
    return res.status === 200;
  }

  /** The manifest a tag points at, or undefined when there is no such tag. */
  async getManifest(tag: string): Promise<{ manifest: OciManifest; digest: string } | undefined> {
    const url = this.url(`manifests/${tag}`);
    const res = await this.request('GET', url, 'pull', { headers: { accept: OCI_MANIFEST }, ok: [200, 404] });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const claimed = res.headers.get('docker-content-digest');
    if (claimed && claimed !== digest) throw new DigestMismatchError(url, claimed, digest);
    try {
      return { manifest: parseManifest(bytes, url), digest };
    } catch (err) {
      throw new RegistryError((err as Error).message, { url }, { cause: err });
    }
  }

  async putManifest(tag: string, manifest: OciManifest): Promise<string> {
    const bytes = Buffer.from(JSON.stringify(manifest));
    await this.request('PUT', this.url(`manifests/${tag}`), 'pull,push', {
      headers: { 'content-type': OCI_MANIFEST },
      body: bytes,
      ok: [201],
    });
    return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.request('HEAD', this.url(`blobs/${digest}`), 'pull,push', { ok: [200, 404] });
    return res.status === 200;
  }

  /** Upload a blob unless the registry has it already; returns the bytes sent. */
  async pushBlob(descriptor: Descriptor, content: string | Buffer): Promise<number> {
    if (await this.hasBlob(descriptor.digest)) return 0;
    const start = await this.request('POST', this.url('blobs/uploads/'), 'pull,push', { ok: [202] });
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (!location)
      throw new RegistryError('upload started without a Location', { url: this.url('blobs/uploads/') });
    const target = new URL(location, this.ref.baseUrl);
    target.searchParams.set('digest', descriptor.digest);
    const body = typeof content === 'string' ? await readFile(content) : content;
    await this.request('PUT', target.href, 'pull,push', {
      headers: { 'content-type': 'application/octet-stream' },
      body,
      ok: [201],
      timeoutMs: this.options.blobTimeoutMs,
    });
    return body.length;
  }

  /** A small blob (a config) into memory, digest checked. */
  async readBlob(descriptor: Descriptor): Promise<Buffer> {
    const url = this.url(`blobs/${descriptor.digest}`);
    const res = await this.request('GET', url, 'pull', { ok: [200] });
    const bytes = Buffer.from(await res.arrayBuffer());
    verify(url, descriptor, createHash('sha256').update(bytes).digest('hex'), bytes.length);
    return bytes;
  }

  /** A blob into a file, hashed on the way; a file whose digest does not match is deleted. */
  async pullBlob(descriptor: Descriptor, dest: string): Promise<void> {
    const url = this.url(`blobs/${descriptor.digest}`);
    const res = await this.request('GET', url, 'pull', { ok: [200], timeoutMs: this.options.blobTimeoutMs });
    const hash = createHash('sha256');
    const out = createWriteStream(dest, { mode: 0o600 });
    const failed = once(out, 'error').then(([err]) => {
      throw err;
    });
    let size = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        size += chunk.length;
        if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
      }
      out.end();
      await Promise.race([once(out, 'finish'), failed]);
      verify(url, descriptor, hash.digest('hex'), size);
    } catch (err) {
      out.destroy();
      await rm(dest, { force: true });
      throw err;
    }
  }

  private async request(
    method: string,
    url: string,
    access: Access,
    init: { headers?: Record<string, string>; body?: Buffer; ok: number[]; timeoutMs?: number },
  ): Promise<Response> {
    let res = await this.send(method, url, access, init);
    if (res.status === 401) {
      const challenge = res.headers.get('www-authenticate');
      await res.body?.cancel();
      if (!challenge || !(await this.answer(parseChallenge(challenge), access, url)))
        throw this.refused(
          method,
          url,
          res,
          'no credentials accepted (docker login, or ISOBUILD_REGISTRY_TOKEN)',
        );
      res = await this.send(method, url, access, init);
    }
    if (!init.ok.includes(res.status)) throw this.refused(method, url, res, await errorText(res));
    return res;
  }

  private async send(
    method: string,
    url: string,
    access: Access,
    init: { headers?: Record<string, string>; body?: Buffer; timeoutMs?: number },
  ): Promise<Response> {
    const authorization = this.authorization.get(access);
    const signal = AbortSignal.any([
      cancelSignal(),
      AbortSignal.timeout(init.timeoutMs ?? this.options.timeoutMs ?? 30_000),
    ]);
    try {
      return await fetch(url, {
        method,
        headers: { 'user-agent': USER_AGENT, ...init.headers, ...(authorization ? { authorization } : {}) },
        body: init.body,
        signal,
      });
    } catch (err) {
      if (cancelSignal().aborted) throw cancelSignal().reason;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new RegistryError(
        `cannot reach ${this.ref.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        { url },
        { cause: err },
      );
    }
  }

  /** Answer a 401: Basic with the login, or fetch a bearer token from the challenge's realm. */
  private async answer(challenge: Challenge, access: Access, url: string): Promise<boolean> {
    const creds = this.options.credentials;
    const basic =
      creds?.kind === 'login'
        ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
        : undefined;
    if (challenge.scheme === 'basic') {
      if (!basic || this.authorization.get(access) === basic) return false;
      this.authorization.set(access, basic);
      return true;
    }
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) return false;
    const tokenUrl = new URL(challenge.params.realm);
    if (challenge.params.service) tokenUrl.searchParams.set('service', challenge.params.service);
    tokenUrl.searchParams.set('scope', `repository:${this.ref.repository}:${access}`);
    const signal = AbortSignal.any([cancelSignal(), AbortSignal.timeout(this.options.timeoutMs ?? 30_000)]);
    let res: Response;
    try {
      res = await fetch(tokenUrl, { headers: basic ? { authorization: basic } : {}, signal });
    } catch (err) {
      throw new RegistryError(`cannot reach the token service ${tokenUrl.origin}`, { url }, { cause: err });
    }
    if (!res.ok) throw this.refused('GET', tokenUrl.href, res, await errorText(res));
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`the token service ${tokenUrl.origin} gave no token`, { url });
    const header = `Bearer ${token}`;
    if (this.authorization.get(access) === header) return false;
    this.authorization.set(access, header);
    return true;
  }

  private refused(method: string, url: string, res: Response, detail: string): RegistryError {
    return new RegistryError(
      `${method} ${url}: ${res.status} ${res.statusText}${detail ? `: ${detail}` : ''}`,
      {
        url,
        status: res.status,
      },
    );
  }
}

function verify(url: string, descriptor: Descriptor, hex: string, size: number): void {
  const actual = `sha256:${hex}`;
  if (actual !== descriptor.digest || size !== descriptor.size)
    throw new DigestMismatchError(url, descriptor.digest, `${actual} (${size} bytes)`);
}

/** The distribution spec's error body: `{"errors":[{"code":"...","message":"..."}]}`. */
async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const { errors } = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    if (errors?.length) return errors.map((e) => [e.code, e.message].filter(Boolean).join(' ')).join('; ');
  } catch {
    // not JSON: the first line of whatever it said
  }
  return text.split('\n')[0]!.slice(0, 200);
}
