import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import { commandScript, containerDiskBytes } from '../../../src/image/containerfs.js';

describe('commandScript', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-command-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is a POSIX sh script that execs the command', () => {
    expect(commandScript(['echo', 'hi'])).toBe("#!/bin/sh\n# Written by isobuild run.\nexec 'echo' 'hi'\n");
    expect(() => commandScript([])).toThrow(/needs a command/);
  });

  it('hands every argument through unchanged when a real sh runs it', async () => {
    const args = [
      'simple',
      '',
      'two words',
      `single ' quote`,
      'double " quote',
      '$HOME $(id) `id` ${x:-y}',
      'line one\nline two',
      'back\\slash',
      '*',
      ';|&<>',
      '\t tab',
      '-n',
    ];
    const script = join(dir, 'command');
    await writeFile(script, commandScript(['printf', '[%s]\\n', ...args]));
    const res = await run('busybox', ['sh', script], { env: { HOME: '/nowhere' } });
    expect(res.stdout).toBe(args.map((a) => `[${a}]\n`).join(''));
  });
});

describe('containerDiskBytes', () => {
  it('leaves room for ext4 and never goes below 64 MiB', () => {
    const mib = 1024 * 1024;
    expect(containerDiskBytes(0)).toBe(64 * mib);
    expect(containerDiskBytes(400 * mib)).toBe(532 * mib);
    expect(containerDiskBytes(1) % mib).toBe(0);
  });
});
