import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addAppFiles,
  appInitRequirements,
  appInputsOf,
  renderInit,
  renderPhase,
  writeAppLayer,
} from '../../../src/app/layer.js';
import { BuildError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import type { ResolvedSpec } from '../../../src/spec/types.js';
import { makeContext, makeSpec } from '../../helpers/stage-context.js';

const APP = {
  run: ['printf', '%s|', "it's", 'a b', '$HOME'],
  prerun: ['echo', 'pre'],
  cwd: '/srv/my app',
  env: { GREETING: "it's me", A: '1' },
  files: [{ src: 'main.py', dest: '/app/main.py', mode: '0640' }],
} satisfies NonNullable<ResolvedSpec['app']>;

describe('app layer', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-app-layer-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('quotes every argument so the shell passes it through unchanged', async () => {
    const script = await renderPhase({ ...APP, cwd: dir }, 'run', APP.run);
    await writeFile(join(dir, 'run'), script);
    const res = await run('sh', [join(dir, 'run'), 'extra arg'], {
      cleanEnv: true,
      env: { PATH: '/usr/bin:/bin' },
    });
    expect(res.stdout).toBe("it's|a b|$HOME|extra arg|");
    expect(script).toContain("export GREETING='it'\\''s me'");
    expect(script.indexOf('export A=1')).toBeLessThan(script.indexOf('export GREETING'));
  });

  it('renders the init with the fixed environment, drivers and default end', async () => {
    const spec = makeSpec({
      app: { ...APP, end: 'reboot' },
      minimise: { workloads: [{ argv: ['x'] }], env: { LANG: 'C' } },
    });
    const init = await renderInit(appInputsOf(spec), ['nf_conntrack', 'xt_state'], '/usr/sbin/modprobe');
    expect(init.startsWith('#!/usr/lib/isobuild/busybox sh\n')).toBe(true);
    expect(init).toContain('export LANG=C\n');
    expect(init).toContain('export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
    expect(init).toContain('for driver in nf_conntrack xt_state; do');
    expect(init).toContain('default_end=reboot');
    const check = await run('sh', ['-n'], { input: init });
    expect(check.exitCode).toBe(0);
  });

  it('adds the app files with their modes and a fixed mtime, and the phase scripts', async () => {
    const repo = join(dir, 'repo');
    const root = join(dir, 'root');
    await mkdir(repo);
    await mkdir(root);
    await writeFile(join(repo, 'main.py'), 'print(1)\n');
    const spec = makeSpec({ repoDir: repo, app: APP, init: '/app/init' });
    const ctx = makeContext({ stage: 'tether', rootfs: root, tmpDir: dir, spec, target: 'app' });
    await writeAppLayer(ctx, appInputsOf(spec));
    const st = await lstat(join(root, 'app/main.py'));
    expect(st.mode & 0o7777).toBe(0o640);
    expect(st.mtimeMs).toBe(0);
    expect(await readFile(join(root, 'app/run'), 'utf8')).toContain("exec printf '%s|'");
    expect((await lstat(join(root, 'app/prerun'))).mode & 0o777).toBe(0o755);
    await expect(lstat(join(root, 'app/postrun'))).rejects.toThrow();
    expect(await readlink(join(root, 'init'))).toBe('app/init');
    expect((await lstat(join(root, 'usr/lib/isobuild/busybox'))).mode & 0o777).toBe(0o755);
    expect(await appInitRequirements(root, { drivers: [] })).toEqual([
      '/app',
      '/app/prerun',
      '/app/run',
      '/app/postrun',
    ]);
  });

  it('refuses app files outside the repo folder', async () => {
    const spec = makeSpec({
      repoDir: dir,
      app: { run: ['true'], files: [{ src: '../etc/passwd', dest: '/x' }] },
    });
    const ctx = makeContext({ stage: 'minimise', rootfs: dir, tmpDir: dir, spec, target: 'app' });
    await expect(addAppFiles(ctx, appInputsOf(spec))).rejects.toThrow(BuildError);
    await expect(addAppFiles(ctx, appInputsOf(spec))).rejects.toThrow('outside the repo folder');
  });
});
