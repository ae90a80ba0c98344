import { createHash, generateKeyPairSync } from 'node:crypto';
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/run.js';
import { exists } from '../../src/fs/exists.js';
import { sharedStageCache } from '../helpers/test-cache.js';

/**
 * Provenance, signing and file owners on the debian-12 bootstrap ISO through the real CLI. A copy
 * of repos/debian-12 whose staging.sh also writes a file, built once with the suite's shared stage
 * cache; the later builds (another output folder, a signing key) are cache hits of the same stages.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const NOTE = '/etc/isobuild-staging-note';

interface Statement {
  subject: { name: string; digest: { sha256: string } }[];
  predicate: {
    buildDefinition: {
      externalParameters: { target: string; repoSpec: { digest: { sha256: string } } };
      resolvedDependencies: { uri?: string; digest?: { sha256?: string } }[];
    };
  };
}

let dir: string;
const cli = (args: string[]) =>
  run('node', [CLI, ...args], {
    cwd: dir,
    env: { ISOBUILD_CACHE: sharedStageCache(), ISOBUILD_REPOS: join(dir, 'repos'), NO_COLOR: '1' },
    timeoutMs: 1_500_000,
    allowFailure: true,
    stage: 'provenance debian test',
  });
const iso = (bin: string) => join(dir, bin, 'bootstrap.iso');

async function buildInto(bin: string, ...more: string[]): Promise<void> {
  // --output: the issue's own example names bin/bootstrap.iso (the default is bootstrap-debian-12.iso).
  const res = await cli(['build', 'debian-12', '--bin', join(dir, bin), '--output', iso(bin), ...more]);
  if (res.exitCode !== 0) throw new Error(`build into ${bin} failed:\n${res.all}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-provenance-debian-'));
  const repoDir = join(dir, 'repos', 'debian-12');
  await cp(join(ROOT, 'repos', 'debian-12'), repoDir, { recursive: true });
  // A file only the hook writes: its owner must be staging.sh.
  await appendFile(join(repoDir, 'staging.sh'), `\necho note > "$(rootfs_dir "$PKGDIR")${NOTE}"\n`);
  await mkdir(join(dir, 'keys'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await writeFile(join(dir, 'keys', 'build.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(join(dir, 'keys', 'build.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const other = generateKeyPairSync('ed25519').publicKey;
  await writeFile(join(dir, 'keys', 'other.pub'), other.export({ type: 'spki', format: 'pem' }));
  if (!(await exists(CLI))) await run('npm', ['run', 'build'], { cwd: ROOT });
  await buildInto('bin');
  // --force: the ISO stage runs again (xorriso writes the image anew), the outputs are rewritten.
  await buildInto('bin2', '--force');
  await buildInto('bin3', '--sign-key', join(dir, 'keys', 'build.key'));
}, 1_800_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('provenance of the debian-12 bootstrap ISO', () => {
  test('names the ISO by its sha256 and lists every SBOM package among the resolved dependencies', async () => {
    const statement = JSON.parse(await readFile(`${iso('bin')}.intoto.json`, 'utf8')) as Statement;
    const digest = createHash('sha256')
      .update(await readFile(iso('bin')))
      .digest('hex');
    expect(statement.subject).toEqual([{ name: 'bootstrap.iso', digest: { sha256: digest } }]);
    expect(statement.predicate.buildDefinition.externalParameters.target).toBe('bootstrap');
    const sbom = JSON.parse(await readFile(`${iso('bin')}.cdx.json`, 'utf8')) as {
      components: { purl?: string; hashes?: { content: string }[] }[];
    };
    const packages = sbom.components.filter((c) => c.purl);
    expect(packages.length).toBeGreaterThan(50);
    const deps = new Map(statement.predicate.buildDefinition.resolvedDependencies.map((d) => [d.uri, d]));
    expect(packages.filter((p) => !deps.has(p.purl))).toEqual([]);
    for (const p of packages)
      if (p.hashes?.[0]) expect(deps.get(p.purl)?.digest?.sha256).toBe(p.hashes[0].content);
  });

  test('two builds of the same inputs give the same provenance file', async () => {
    expect(await readFile(`${iso('bin2')}.intoto.json`, 'utf8')).toBe(
      await readFile(`${iso('bin')}.intoto.json`, 'utf8'),
    );
  });

  test('a signed provenance verifies with its key; a changed ISO or another key does not', async () => {
    const pub = join(dir, 'keys', 'build.pub');
    const good = await cli(['verify', iso('bin3'), '--key', pub]);
    expect(good.stdout).toMatch(/signature: valid/);
    expect(good.exitCode).toBe(0);

    const wrongKey = await cli(['verify', iso('bin3'), '--key', join(dir, 'keys', 'other.pub')]);
    expect(wrongKey.exitCode).toBe(1);
    expect(wrongKey.stderr).toMatch(/signature: no signature .* verifies/);
    expect(wrongKey.stderr).not.toMatch(/digest:/);

    await mkdir(join(dir, 'changed'));
    const changed = join(dir, 'changed', 'bootstrap.iso');
    await cp(iso('bin3'), changed);
    await cp(`${iso('bin3')}.intoto.json`, `${changed}.intoto.json`);
    const bytes = await readFile(changed);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(changed, bytes);
    const tampered = await cli(['verify', changed, '--key', pub]);
    expect(tampered.exitCode).toBe(1);
    expect(tampered.stderr).toMatch(
      /digest: bootstrap\.iso: the provenance says sha256 [0-9a-f]{64}, the output has/,
    );
    expect(tampered.stderr).not.toMatch(/signature:/);
  });
});

describe('file owners of the debian-12 bootstrap ISO', () => {
  test('why bin/bootstrap.iso /usr/bin/busybox names the busybox package', async () => {
    const res = await cli(['why', 'bin/bootstrap.iso', '/usr/bin/busybox']);
    expect(res.stdout).toMatch(/package busybox /);
  });

  test('a file staging.sh wrote names that hook', async () => {
    const res = await cli(['why', 'bin/bootstrap.iso', NOTE]);
    expect(res.stdout).toMatch(/hook staging\.sh/);
  });

  test('the manifest lists the files no package owns, and unowned: error fails the build naming them', async () => {
    const manifest = JSON.parse(await readFile(`${iso('bin')}.manifest.json`, 'utf8')) as {
      unowned: string[];
    };
    // libc-bin's and base-passwd's maintainer scripts write these: no package lists them.
    expect(manifest.unowned).toEqual(expect.arrayContaining(['/etc/ld.so.cache', '/etc/passwd']));
    const specFile = join(dir, 'repos', 'debian-12', 'repo-spec.json');
    const spec = JSON.parse(await readFile(specFile, 'utf8')) as Record<string, unknown>;
    await writeFile(specFile, JSON.stringify({ ...spec, unowned: 'error' }, null, 2));
    const res = await cli(['build', 'debian-12', '--bin', join(dir, 'bin-unowned')]);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(
      /file\(s\) of the iso root have no known source \(unowned: error in .*repo-spec\.json\)/,
    );
    for (const path of manifest.unowned) expect(res.stderr).toContain(`\n  ${path}`);
  });
});
