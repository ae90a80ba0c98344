import { chmod, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryIdentity, readToolVersion } from '../../../src/exec/tool-version.js';

describe('readToolVersion (probed once per binary build, keyed by path + size + mtime)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-toolver-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('asks a binary once, and again only when it changes', async () => {
    const tool = join(dir, 'fake-tool');
    const count = join(dir, 'count');
    const script = (v: string) => `#!/bin/sh\necho x >> ${count}\necho "fake-tool ${v}"\n`;
    await writeFile(tool, script('1.0'));
    await chmod(tool, 0o755);
    expect(await readToolVersion(tool)).toBe(`${tool}: fake-tool 1.0`);
    expect(await readToolVersion(tool)).toBe(`${tool}: fake-tool 1.0`);
    await writeFile(tool, script('2.00'));
    await utimes(tool, 1000, 1000);
    expect(await readToolVersion(tool)).toBe(`${tool}: fake-tool 2.00`);
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(count, 'utf8')).trim().split('\n')).toHaveLength(2);
  });

  it('says missing for a tool that is not installed', async () => {
    expect(await binaryIdentity('isobuild-no-such-tool')).toBeUndefined();
    expect(await readToolVersion('isobuild-no-such-tool')).toBe('isobuild-no-such-tool: missing');
  });
});
