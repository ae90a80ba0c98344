import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readToolVersion, saveToolVersionFile, useToolVersionFile } from '../../../src/exec/tool-version.js';

test('a version asked once is kept in the file and answered from it without running the tool', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'isobuild-toolver-'));
  try {
    const tool = join(dir, 'fake-tool');
    const calls = join(dir, 'calls');
    await writeFile(tool, `#!/bin/sh\necho run >> ${calls}\necho "fake-tool 1.0"\n`);
    await chmod(tool, 0o755);
    const file = join(dir, 'tool-versions.json');
    await useToolVersionFile(file);
    expect(await readToolVersion(tool)).toBe(`${tool}: fake-tool 1.0`);
    await saveToolVersionFile();
    expect(Object.values(JSON.parse(await readFile(file, 'utf8')))).toEqual([`${tool}: fake-tool 1.0`]);

    // A new process (the module cache stands in for it: other args, same file) reads the file.
    await useToolVersionFile(file);
    const key = Object.keys(JSON.parse(await readFile(file, 'utf8')))[0] as string;
    await writeFile(file, JSON.stringify({ [key.replace('--version', '-V')]: `${tool}: from the file` }));
    await useToolVersionFile(file);
    expect(await readToolVersion(tool, ['-V'])).toBe(`${tool}: from the file`);
    expect((await readFile(calls, 'utf8')).trim().split('\n')).toHaveLength(1);

    // Another binary at the same path (size and mtime change) is asked again.
    await writeFile(tool, `#!/bin/sh\necho run >> ${calls}\necho "fake-tool 2.0 (rebuilt)"\n`);
    expect(await readToolVersion(tool, ['-V'])).toBe(`${tool}: fake-tool 2.0 (rebuilt)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
