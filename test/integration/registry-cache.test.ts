import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/run.js';
import { exists } from '../../src/fs/exists.js';
import { entryKeyOf } from '../../src/cache/cache.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseRepositoryRef } from '../../src/registry/reference.js';
import { TITLE_ANNOTATION } from '../../src/registry/oci.js';
import { buildOfflineRpmRepo } from '../helpers/rpm-repo/build-rpm-repo.js';
import { makeFixtureRepo, type FixtureRepo } from '../helpers/rpm-repo/fixture-repo.js';
import { parseEvents } from '../helpers/json-events.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

/**
 * The stage cache shared through a real registry (Debian's docker-registry on 127.0.0.1),
 * with the offline RPM sample repo through the real CLI: one cold build pushes every stage;
 * a build on an empty cache pulls only the last stage; a tampered iso entry is refused and only
 * iso is rebuilt, on the intact entry below it; a stopped registry is a warning.
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO_ROOT, 'dist/cli/main.js');

interface Event {
  type: string;
  level?: string;
  message?: string;
  stage?: string;
  status?: string;
  bytes?: number;
  [key: string]: unknown;
}

describe('the stage cache in an OCI registry', () => {
  let registry: TestRegistry;
  let fixture: FixtureRepo;
  let dir: string;
  let ref: string;
  let cold: Event[];
  let coldIso: string;

  /** `isobuild build` with --json: its events, and the ISO's sha256. */
  const build = async (cache: string, args: string[], bin: string) => {
    const res = await run(
      'node',
      [CLI, '--json', 'build', fixture.dir, '--target', 'bootstrap', '--bin', join(dir, bin), ...args],
      {
        cwd: dir,
        env: { ISOBUILD_CACHE: join(dir, cache) },
        timeoutMs: 900_000,
        stage: 'registry cache test',
      },
    );
    // parseEvents also checks every line against schemas/events.schema.json.
    const events = parseEvents(res.stdout) as Event[];
    const [iso] = (await readdir(join(dir, bin))).filter((f) => f.endsWith('.iso'));
    const bytes = await readFile(join(dir, bin, iso!));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    // The build says where its output went, how big it is and its digest (docs/json.md).
    expect(events.filter((e) => e.type === 'output' && e.format === 'iso')).toEqual([
      expect.objectContaining({ path: join(dir, bin, iso!), size: bytes.length, sha256 }),
    ]);
    return { events, sha256 };
  };
  const statuses = (events: Event[]) =>
    events.filter((e) => e.type === 'stage' && e.status !== 'start').map((e) => `${e.stage}:${e.status}`);
  const warnings = (events: Event[]) => events.filter((e) => e.level === 'warn').map((e) => e.message!);
  const entries = async (cache: string) => (await readdir(join(dir, cache, 'stages', 'offline-1.0'))).sort();

  beforeAll(async () => {
    const repo = await buildOfflineRpmRepo();
    fixture = await makeFixtureRepo({ packagemanager: 'tdnf', baseurl: `file://${repo.dir}` });
    dir = await mkdtemp(join(tmpdir(), 'isobuild-registry-cache-'));
    if (!(await exists(CLI))) await run('npm', ['run', 'build'], { cwd: REPO_ROOT });
    registry = await startRegistry();
    ref = `${registry.host}/isobuild/stage-cache`;
    const a = await build('cache-a', ['--cache-to', ref], 'bin-a');
    cold = a.events;
    coldIso = a.sha256;
  }, 900_000);

  afterAll(async () => {
    await registry?.remove();
    await fixture?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a cold build with --cache-to builds every stage and pushes each as a tagged OCI artifact', async () => {
    expect(statuses(cold).every((s) => s.endsWith(':built'))).toBe(true);
    const pushed = cold.filter((e) => e.type === 'push').map((e) => e.stage);
    expect(pushed).toEqual(statuses(cold).map((s) => s.split(':')[0]));
    const tags = (await (
      await fetch(`http://${registry.host}/v2/isobuild/stage-cache/tags/list`)
    ).json()) as {
      tags: string[];
    };
    const local = (await entries('cache-a')).filter((e) => !e.endsWith('.json'));
    expect(tags.tags.sort()).toEqual(local);
    // initrd and iso only read the root: their tree layers are tether's, sent once.
    const client = new RegistryClient(parseRepositoryRef(ref));
    const tree = async (stage: string) =>
      (await client.getManifest(local.find((t) => entryKeyOf(t, stage))!))!.manifest.layers[0]!.digest;
    expect(await tree('iso')).toBe(await tree('tether'));
  });

  test('an empty cache with --cache-from pulls only the last stage, builds nothing, and gives the same ISO', async () => {
    const b = await build('cache-b', ['--cache-from', ref], 'bin-b');
    expect(b.sha256).toBe(coldIso);
    const s = statuses(b.events);
    expect(s.at(-1)).toBe('iso:pulled');
    expect(s.slice(0, -1).every((x) => x.endsWith(':skipped'))).toBe(true);
    expect((await entries('cache-b')).map((e) => e.replace(/-[0-9a-f]{24}$/, ''))).toEqual(['iso']);
    const done = b.events.find((e) => e.type === 'done')!;
    expect(done.stagesBuilt).toBe(0);
    expect(warnings(b.events)).toEqual([]);
  }, 600_000);

  test('a tampered iso entry is refused, naming it and why; the entry below it is pulled and only iso is built', async () => {
    const client = new RegistryClient(parseRepositoryRef(ref));
    const isoTag = (await entries('cache-a')).find((e) => entryKeyOf(e, 'iso'))!;
    const layer = (await client.getManifest(isoTag))!.manifest.layers.find(
      (l) => l.annotations?.[TITLE_ANNOTATION] === 'image.iso',
    )!;
    const blob = registry.blobPath(layer.digest);
    const bytes = await readFile(blob);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(blob, bytes);
    // An empty cache: the registry's iso entry is the deepest, and it is bad; the rest are intact.
    const c = await build('cache-c', ['--cache-from', ref], 'bin-c');
    expect(warnings(c.events)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^iso from ${ref}: ${ref}:${isoTag} refused: .*content digest is sha256:[0-9a-f]{64} .*expected ${layer.digest}; building it here; looking for an intact entry below it$`,
        ),
      ),
    ]);
    const s = statuses(c.events);
    const below = s.at(-2)!.split(':')[0]!;
    expect(s.slice(-2)).toEqual([`${below}:pulled`, 'iso:built']);
    expect(s.slice(0, -2).every((x) => x.endsWith(':skipped'))).toBe(true);
    expect(c.events.filter((e) => e.type === 'pull').map((e) => e.stage)).toEqual([below]);
    expect(c.events.find((e) => e.type === 'done')!.stagesBuilt).toBe(1);
    expect(c.sha256).toBe(coldIso);
  }, 600_000);

  test('a registry that is down is a warning, and the build goes on locally', async () => {
    await registry.stop();
    await rm(join(dir, 'cache-b', 'stages'), { recursive: true });
    await run('cp', ['-a', join(dir, 'cache-a', 'stages'), join(dir, 'cache-b', 'stages')]);
    const isoTag = (await entries('cache-b')).find((e) => entryKeyOf(e, 'iso'))!;
    await rm(join(dir, 'cache-b', 'stages', 'offline-1.0', isoTag), { recursive: true });
    const d = await build('cache-b', ['--cache-from', ref, '--cache-to', ref], 'bin-d');
    expect(warnings(d.events)).toEqual([
      `registry ${ref}: cannot reach http://${registry.host}: ECONNREFUSED; building without it`,
    ]);
    expect(statuses(d.events).at(-1)).toBe('iso:built');
    expect(d.sha256).toBe(coldIso);
  }, 600_000);
});
