import { createHash } from 'node:crypto';
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  readdir,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError } from '../../src/errors.js';
import { run } from '../../src/exec/run.js';
import { silentLogger } from '../../src/log/logger.js';
import { buildDockerfile } from '../../src/oci/dockerfile.js';
import { copyImageToLayout, inspectDigest, LOCAL_TAG } from '../../src/oci/fetch-image.js';
import { parseImageRef } from '../../src/oci/image-ref.js';
import { writeIndex, writeJsonBlob, writeLayerBlob } from '../../src/oci/layout.js';
import { MEDIA_TYPES } from '../../src/oci/media-types.js';
import { unpackImage } from '../../src/oci/unpack-image.js';
import { exportOciImage } from '../../src/oci/write-image.js';

/**
 * OCI images with the real tools: layers applied by umoci (whiteouts, opaque folders, links that
 * try to lead out), images written by isobuild and read back by skopeo and buildah, Dockerfiles
 * built by buildah. No network: every image is a local file.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-oci-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(tree: Record<string, string | { link: string } | null>, base: string): Promise<void> {
  for (const [name, content] of Object.entries(tree)) {
    const path = join(base, name);
    await mkdir(join(path, '..'), { recursive: true });
    if (content === null) await mkdir(path, { recursive: true });
    else if (typeof content === 'string') await writeFile(path, content);
    else await symlink(content.link, path);
  }
}

/**
 * An OCI layout whose layers are the given folders, in order; `members` lists a layer's entries
 * exactly (no parent folders), as a hostile layer would.
 */
async function makeLayout(
  layerDirs: (string | { dir: string; members: string[] })[],
  arch = 'amd64',
): Promise<string> {
  const layout = join(dir, 'layout');
  const layers = [];
  for (const d of layerDirs) {
    const tar = join(dir, 'layer.tar');
    const what = typeof d === 'string' ? ['-C', d, '.'] : ['--no-recursion', '-C', d.dir, ...d.members];
    await run('tar', ['--create', '--file', tar, '--sort=name', '--numeric-owner', ...what]);
    layers.push(await writeLayerBlob(layout, tar));
    await rm(tar);
  }
  const config = await writeJsonBlob(layout, MEDIA_TYPES.config, {
    architecture: arch,
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  });
  const manifest = await writeJsonBlob(layout, MEDIA_TYPES.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config,
    layers: layers.map((l) => l.descriptor),
  });
  await writeIndex(layout, manifest, LOCAL_TAG);
  return layout;
}

async function listTree(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = join(rel, name);
    const st = await lstat(join(root, path));
    const what = st.isSymbolicLink()
      ? `-> ${await readlink(join(root, path))}`
      : st.isDirectory()
        ? 'dir'
        : (await readFile(join(root, path), 'utf8')).trim();
    out.push(`${path} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
    if (st.isDirectory()) out.push(...(await listTree(root, path)));
  }
  return out;
}

test('layers apply in order: .wh. files delete, .wh..wh..opq empties a folder, links never lead out', async () => {
  const outside = join(dir, 'outside');
  await mkdir(outside);
  await files(
    {
      'l1/keep': 'kept',
      'l1/gone': 'deleted later',
      'l1/opq/old': 'hidden later',
      'l1/esc': { link: outside },
    },
    dir,
  );
  await files(
    { 'l2/.wh.gone': '', 'l2/opq/.wh..wh..opq': '', 'l2/opq/new': 'new', 'l2/esc/pwned': 'inside' },
    dir,
  );
  const layout = await makeLayout([
    join(dir, 'l1'),
    { dir: join(dir, 'l2'), members: ['.wh.gone', 'opq/.wh..wh..opq', 'opq/new', 'esc/pwned'] },
  ]);
  const root = join(dir, 'root');
  await mkdir(root);
  await mkdir(join(dir, 'tmp'));
  await unpackImage(layout, root, join(dir, 'tmp'), run);
  const tree = await listTree(root);
  const inRoot = outside.slice(1);
  const ancestors = inRoot.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  expect(tree.map((l) => l.split(' ')[0]).sort()).toEqual(
    ['esc', 'keep', 'opq', 'opq/new', ...ancestors, `${inRoot}/pwned`].sort(),
  );
  // esc/pwned went through the link as if the root were /: into the root, never the host folder.
  expect(await readFile(join(root, inRoot, 'pwned'), 'utf8')).toBe('inside');
  expect(await readdir(outside)).toEqual([]);
});

test("a layer umoci refuses (a path through a symlink loop) fails naming umoci's reason, not only in the log", async () => {
  await files({ 'l1/a': { link: 'b' }, 'l1/b': { link: 'a' }, 'l2/a/f': 'through the loop' }, dir);
  // l2 holds only a/f (no a/ folder entry), so umoci must resolve a/ through the loop.
  const layout = await makeLayout([join(dir, 'l1'), { dir: join(dir, 'l2'), members: ['a/f'] }]);
  const root = join(dir, 'root');
  await mkdir(root);
  await mkdir(join(dir, 'tmp'));
  // As a stage runs it: the output streamed into a logger (the stage log) as well.
  const logged: string[] = [];
  const logger = { ...silentLogger, output: (line: string) => void logged.push(line) };
  const stageRun: typeof run = (file, args, opts) => run(file, args, { stage: 'iso-base', logger, ...opts });
  const err = await unpackImage(layout, root, join(dir, 'tmp'), stageRun, 'iso-base').catch(
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CommandError);
  const reason = /SecureJoin .*: too many levels of symbolic links/;
  expect(logged.join('')).toMatch(reason);
  const { message, details } = err as CommandError;
  expect(details.outputTail).toMatch(reason);
  expect(message).toMatch(/^stage iso-base: command failed \(exit status 1\)\n {2}\$ umoci raw unpack /);
  expect(message).toMatch(new RegExp(`output \\(last lines\\):\\n(.*\\n)*.*${reason.source}`));
});

test('an image written by isobuild is the same bytes twice, keeps owners and modes, and reads back through skopeo and umoci', async () => {
  const rootfs = join(dir, 'rootfs');
  await files(
    { 'etc/motd': 'hi', 'usr/bin/tool': '#!/bin/sh\n', bin: { link: 'usr/bin' }, 'var/empty': null },
    rootfs,
  );
  await chmod(join(rootfs, 'usr/bin/tool'), 0o4755);
  await chown(join(rootfs, 'etc/motd'), 1234, 5678);
  await link(join(rootfs, 'etc/motd'), join(rootfs, 'etc/motd.hardlink'));
  const a = join(dir, 'a.tar');
  const b = join(dir, 'b.tar');
  const digestA = await exportOciImage(rootfs, parseImageRef(a, dir), {
    sourceDateEpoch: 0,
    createdBy: 'test',
  });
  const digestB = await exportOciImage(rootfs, parseImageRef(`oci-archive:${b}`, dir), {
    sourceDateEpoch: 0,
    createdBy: 'test',
  });
  expect(digestB).toBe(digestA);
  const sha = async (f: string) =>
    createHash('sha256')
      .update(await readFile(f))
      .digest('hex');
  expect(await sha(b)).toBe(await sha(a));
  expect((await readdir(dir)).filter((n) => n.includes('partial'))).toEqual([]);

  const layout = join(dir, 'copied');
  expect(await copyImageToLayout(parseImageRef(`oci-archive:${a}`, dir), layout, run)).toBe(digestA);
  const back = join(dir, 'back');
  await mkdir(back);
  await mkdir(join(dir, 'tmp'));
  await unpackImage(layout, back, join(dir, 'tmp'), run);
  expect(await listTree(back)).toEqual(await listTree(rootfs));
});

test('an image for another architecture is refused, naming it', async () => {
  await files({ 'l1/f': 'x' }, dir);
  const layout = await makeLayout([join(dir, 'l1')], 'arm64');
  await expect(
    copyImageToLayout(parseImageRef(`oci:${layout}:${LOCAL_TAG}`, dir), join(dir, 'copy'), run),
  ).rejects.toThrow(/the image oci:.*layout:image is for arm64; this build makes amd64 images/);
});

test('a docker:// reference whose registry does not answer fails with the offline hint', async () => {
  await expect(inspectDigest(parseImageRef('docker://127.0.0.1:9/none/such:1', dir), run)).rejects.toThrow(
    /cannot resolve the image docker:\/\/127\.0\.0\.1:9\/none\/such:1: a docker:\/\/ reference needs its registry, which did not answer \(offline\?\)/,
  );
});

describe('Dockerfiles through buildah', () => {
  async function baseImage(): Promise<string> {
    const rootfs = join(dir, 'base');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await run('cp', ['/bin/busybox', join(rootfs, 'bin/busybox')]);
    for (const applet of ['sh', 'echo', 'rm', 'cat']) await symlink('busybox', join(rootfs, 'bin', applet));
    await files({ 'etc/doomed': 'removed by RUN' }, rootfs);
    const archive = join(dir, 'base.tar');
    await exportOciImage(rootfs, parseImageRef(archive, dir), { sourceDateEpoch: 0, createdBy: 'test base' });
    return archive;
  }

  test('FROM an isobuild image, COPY and RUN; the deleted file is gone once unpacked', async () => {
    const archive = await baseImage();
    const context = join(dir, 'context');
    await files(
      {
        Dockerfile: `FROM oci-archive:${archive}\nCOPY added /etc/added\nRUN echo ran > /etc/ran && rm /etc/doomed\n`,
        added: 'copied',
      },
      context,
    );
    const layout = join(dir, 'built');
    await mkdir(join(dir, 'tmp'));
    await buildDockerfile(
      {
        dockerfile: join(context, 'Dockerfile'),
        context,
        layout,
        tmpDir: join(dir, 'tmp'),
        sourceDateEpoch: 0,
      },
      run,
    );
    const root = join(dir, 'root');
    await mkdir(root);
    await unpackImage(layout, root, join(dir, 'tmp'), run);
    expect(await readFile(join(root, 'etc/added'), 'utf8')).toBe('copied');
    expect(await readFile(join(root, 'etc/ran'), 'utf8')).toBe('ran\n');
    await expect(lstat(join(root, 'etc/doomed'))).rejects.toThrow(/ENOENT/);
  }, 120_000);

  test('a failing step is named with its output', async () => {
    const archive = await baseImage();
    const context = join(dir, 'context');
    await files(
      { Dockerfile: `FROM oci-archive:${archive}\nRUN echo about to fail && cat /no/such/file\n` },
      context,
    );
    await mkdir(join(dir, 'tmp'));
    await expect(
      buildDockerfile(
        {
          dockerfile: join(context, 'Dockerfile'),
          context,
          layout: join(dir, 'built'),
          tmpDir: join(dir, 'tmp'),
          sourceDateEpoch: 0,
        },
        run,
      ),
    ).rejects.toThrow(
      /Dockerfile Dockerfile failed at step 2\/2 \(RUN echo about to fail && cat \/no\/such\/file\)[^]*about to fail[^]*no\/such\/file/,
    );
  }, 120_000);
});
