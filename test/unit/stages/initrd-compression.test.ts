import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { moveKernelToBootfs } from '../../../src/kernel/boot-files.js';
import { extractKernelFiles } from '../../../src/kernel/extract-kernel.js';
import { parseKernelConfig } from '../../../src/kernel/kernel-config.js';
import { pickCompression } from '../../../src/image/compress.js';
import { initrdStage } from '../../../src/stages/initrd.js';
import { makeContext, makeSpec, recordingLogger, runStageWith } from '../../helpers/stage-context.js';

/**
 * A kernel package like VIC's photon 4.x ones: its config reads gzip and xz initrds, not zstd
 * (CONFIG_RD_ZSTD came with 5.9). Built with the real dpkg-deb, unpacked and moved to bootfs
 * the way iso-base does, then the real initrd stage.
 */
const VERSION = '4.19.0-fake';
const CONFIG = [
  '# Linux/x86 4.19 Kernel Configuration',
  'CONFIG_BLK_DEV_INITRD=y',
  'CONFIG_RD_GZIP=y',
  'CONFIG_RD_BZIP2=y',
  'CONFIG_RD_XZ=y',
  '# CONFIG_RD_ZSTD is not set',
  '',
].join('\n');

async function makeKernelDeb(dir: string): Promise<string> {
  const pkg = join(dir, 'pkg');
  await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
  await mkdir(join(pkg, 'boot'));
  await mkdir(join(pkg, 'lib/modules', VERSION), { recursive: true });
  await writeFile(
    join(pkg, 'DEBIAN/control'),
    `Package: linux-image-${VERSION}\nVersion: 1\nArchitecture: amd64\nMaintainer: isobuild tests <tests@isobuild.invalid>\nDescription: fake kernel without zstd initrd support\n`,
  );
  await writeFile(join(pkg, 'boot', `vmlinuz-${VERSION}`), 'not a real kernel image');
  await writeFile(join(pkg, 'boot', `config-${VERSION}`), CONFIG);
  await writeFile(join(pkg, 'lib/modules', VERSION, 'modules.order'), '');
  const deb = join(dir, `linux-image-${VERSION}.deb`);
  await run('dpkg-deb', ['--root-owner-group', '--build', pkg, deb]);
  return deb;
}

describe('kernel-aware initrd compression', () => {
  let dir: string;
  let rootfs: string;
  let bootfs: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-compression-'));
    rootfs = join(dir, 'rootfs');
    bootfs = join(dir, 'bootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await writeFile(join(rootfs, 'bin', 'hello'), 'hello\n');
    const deb = await makeKernelDeb(dir);
    await extractKernelFiles([{ path: deb, format: 'deb' }], rootfs, { tmpDir: dir, run });
    await moveKernelToBootfs(rootfs, bootfs, VERSION, `/boot/vmlinuz-${VERSION}`);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const initrd = async (compression: 'auto' | 'zstd' | 'xz') => {
    const logger = recordingLogger();
    const tmpDir = await mkdtemp(join(dir, 'tmp-'));
    const artifacts = join(tmpDir, 'artifacts');
    await mkdir(artifacts);
    const ctx = makeContext({
      stage: 'initrd',
      rootfs,
      bootfs,
      artifacts,
      tmpDir,
      logger,
      spec: makeSpec({ compression }),
      meta: { kernelVersion: VERSION },
    });
    await runStageWith(initrdStage, ctx);
    return { logger, meta: ctx.meta, image: await readFile(join(artifacts, 'initrd.img')) };
  };

  it('auto picks gzip for a kernel without CONFIG_RD_ZSTD', async () => {
    const { logger, meta, image } = await initrd('auto');
    expect(meta.compression).toBe('gzip');
    expect(image.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(logger.lines.map((l) => l.msg).join('\n')).toMatch(/initrd: .*\(gzip, auto: CONFIG_RD_GZIP=y;/);
  });

  it('refuses an explicit zstd, naming the missing option and the config file', async () => {
    const err = (await initrd('zstd').catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(BuildError);
    expect(err.message).toBe(
      `stage initrd: compression zstd: the kernel cannot decompress it, ${join(bootfs, `config-${VERSION}`)} lacks CONFIG_RD_ZSTD; use gzip or xz or compression: auto`,
    );
  });

  it('honours an explicit choice the kernel reads', async () => {
    const { image } = await initrd('xz');
    expect(image.subarray(0, 6)).toEqual(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  });

  it('orders auto lz4, zstd, gzip, xz and falls back to gzip without a config', () => {
    const config = (text: string) => ({ path: '/b/config-x', enabled: parseKernelConfig(text) });
    const all = config('CONFIG_RD_GZIP=y\nCONFIG_RD_XZ=y\nCONFIG_RD_ZSTD=y\nCONFIG_RD_LZ4=y\n');
    expect(pickCompression('auto', all).compression).toBe('lz4');
    expect(pickCompression('auto', config('CONFIG_RD_GZIP=y\nCONFIG_RD_ZSTD=y\n')).compression).toBe('zstd');
    expect(pickCompression('auto', config('CONFIG_RD_XZ=y\n')).compression).toBe('xz');
    expect(pickCompression('auto', undefined).compression).toBe('gzip');
    expect(() => pickCompression('auto', config('CONFIG_RD_LZMA=y\n'))).toThrow(
      /enables none of CONFIG_RD_LZ4, CONFIG_RD_ZSTD, CONFIG_RD_GZIP, CONFIG_RD_XZ/,
    );
  });
});
