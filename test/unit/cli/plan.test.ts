import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STAGE_NAMES } from '../../../src/stage/types.js';
import { makeRepo, specJson } from '../spec/repo-fixture.js';
import { checkCliBuilt, ROOT, runCli } from './run-cli.js';
import { parseEvents } from '../../helpers/json-events.js';

beforeAll(checkCliBuilt);

const REPOS = join(ROOT, 'repos');

test('isobuild plan debian-12: the resolved spec, then the stages in pipeline order with their commands', async () => {
  const res = await runCli(['plan', '--repos', REPOS, 'debian-12'], ROOT);
  expect(res.code).toBe(0);
  const out = res.stdout;
  expect(out).toMatch(/^repo +debian-12 \(.*repos\/debian-12\/repo-spec.json\)$/m);
  expect(out).toMatch(/^package manager +apt$/m);
  expect(out).toMatch(/^release +bookworm \(from the name debian-12\)$/m);
  expect(out).toMatch(/^kernel +linux-image-cloud-amd64 \(package\)$/m);
  expect(out).toMatch(/^apt sources +the host's apt configuration$/m);
  expect(out).toMatch(/^target bootstrap \(flavour bootstrap\), outputs: iso$/m);
  // Where the output goes by default: the targets table's path (src/stage/targets.ts).
  expect(out).toMatch(/^ {2}iso → bin\/bootstrap-debian-12\.iso$/m);
  const stages = [...out.matchAll(/^\d+\. (\S+)$/gm)].map((m) => m[1]);
  expect(stages).toEqual(expect.arrayContaining(['iso-base', 'staging', 'initrd', 'iso']));
  // In pipeline order, whichever stages apply.
  expect(stages).toEqual(
    [...stages].sort((a, b) => STAGE_NAMES.indexOf(a as never) - STAGE_NAMES.indexOf(b as never)),
  );
});

test('isobuild plan --json --target iso-base: only the first stage, and the spec with defaults applied', async () => {
  const res = await runCli(['plan', '--json', '--repos', REPOS, '--target', 'iso-base', 'photon-2.0'], ROOT);
  expect(res.code).toBe(0);
  const [plan] = parseEvents(res.stdout) as unknown as {
    type: string;
    spec: { name: string; compression: string; stagingScript: unknown };
    target: string;
    stages: { name: string; commands: string[] }[];
  }[];
  const spec = plan!.spec;
  expect(spec).toMatchObject({
    name: 'photon-2.0',
    compression: 'auto',
    stagingScript: { bootstrap: [], appliance: ['erase', 'toybox'] },
  });
  expect(plan!.type).toBe('plan');
  expect(plan!.target).toBe('iso-base');
  expect(plan!.stages.map((s) => s.name)).toEqual(['iso-base']);
});

test('isobuild plan: an unknown target and an invalid repo both exit 2', async () => {
  const badTarget = await runCli(['plan', '--repos', REPOS, '--target', 'floppy', 'debian-12'], ROOT);
  expect(badTarget.code).toBe(2);
  expect(badTarget.stderr).toContain('unknown target "floppy"');

  const bad = await makeRepo('debian-12', { 'repo-spec.json': specJson({ init: 'init' }) });
  try {
    const res = await runCli(['plan', 'debian-12'], bad.root);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      'debian-12/repo-spec.json:5:11 /init: must be an absolute path (starting with /)',
    );
    expect(res.stdout).toBe('');
  } finally {
    await bad.remove();
  }
});

test('isobuild plan --explain: every stage rebuilds against an empty cache, with its key; --json gives the same', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'isobuild-explain-'));
  try {
    const env = { ISOBUILD_CACHE: cache };
    const text = await runCli(['plan', '--repos', REPOS, '--explain', 'debian-12'], ROOT, env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`cache ${cache} (the build's default options):`);
    expect(text.stdout).toMatch(
      /^ {2}[0-9a-f]{24} {2}iso-base: rebuild, because the cache has no entry of this stage for this repo$/m,
    );
    const res = await runCli(['plan', '--json', '--repos', REPOS, '--explain', 'debian-12'], ROOT, env);
    const [plan] = parseEvents(res.stdout) as unknown as {
      stages: { name: string }[];
      cache: { root: string; stages: { stage: string; key: string; status: string }[] };
    }[];
    expect(plan!.cache.root).toBe(cache);
    expect(plan!.cache.stages.map((s) => s.stage)).toEqual(plan!.stages.map((s) => s.name));
    expect(plan!.cache.stages.every((s) => s.status === 'rebuild' && /^[0-9a-f]{24}$/.test(s.key))).toBe(
      true,
    );
    // Nothing written: plan only reads the cache.
    expect(await readdir(cache)).toEqual([]);
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

test('plan --explain --env: the variables are in the key of the stage whose hook sees them, only', async () => {
  // debian-12 has staging.sh and no base.sh: iso-base's key stays, staging's (and later ones) change.
  const keys = async (...extra: string[]) => {
    const res = await runCli(['plan', '--json', '--explain', '--repos', REPOS, 'debian-12', ...extra], ROOT);
    expect(res.code).toBe(0);
    const [plan] = parseEvents(res.stdout) as unknown as {
      cache: { stages: { stage: string; key: string }[] };
    }[];
    return Object.fromEntries(plan!.cache.stages.map((s) => [s.stage, s.key]));
  };
  const plain = await keys();
  const withEnv = await keys('--env', 'GREETING=hello');
  expect(withEnv['iso-base']).toBe(plain['iso-base']);
  expect(withEnv.staging).not.toBe(plain.staging);
  expect(await keys('--env', 'GREETING=hello')).toEqual(withEnv);
});
