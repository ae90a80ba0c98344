import { open, readFile, writeFile } from 'node:fs/promises';
import { run } from '../exec/run.js';
import { UsageError } from '../errors.js';

/** An initrd's compression by its first bytes, as the decompressor to run (`<tool> -dc`). */
const MAGICS: readonly { magic: Buffer; tool: string }[] = [
  { magic: Buffer.from([0x1f, 0x8b]), tool: 'gzip' },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), tool: 'zstd' },
  { magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]), tool: 'lz4' },
  { magic: Buffer.from([0x04, 0x22, 0x4d, 0x18]), tool: 'lz4' },
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a]), tool: 'xz' },
];

async function decompressorOf(file: string): Promise<string | undefined> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(8);
    await fh.read(head, 0, head.length, 0);
    return MAGICS.find((m) => head.subarray(0, m.magic.length).equals(m.magic))?.tool;
  } finally {
    await fh.close();
  }
}

/**
 * Copies one file out of an initrd (a cpio, compressed with any of the initrd stage's
 * compressions) to `out`: what `isobuild run` takes from an image of another architecture,
 * such as its init layer's busybox. `path` is relative to the archive's root.
 */
export async function copyFromInitrd(initrd: string, path: string, out: string): Promise<void> {
  const tool = await decompressorOf(initrd);
  const cpio = tool
    ? (await run(tool, ['-dc', initrd], { binaryStdout: true })).stdoutBuffer
    : await readFile(initrd);
  const res = await run('cpio', ['-i', '--quiet', '--to-stdout', path], {
    binaryStdout: true,
    allowFailure: true,
    input: cpio ?? Buffer.alloc(0),
  });
  const bytes = res.stdoutBuffer ?? Buffer.alloc(0);
  if (res.exitCode !== 0 || bytes.length === 0)
    throw new UsageError(`${initrd}: no ${path} in the initrd (${res.stderr.trim() || 'empty'})`);
  await writeFile(out, bytes, { mode: 0o755 });
}
