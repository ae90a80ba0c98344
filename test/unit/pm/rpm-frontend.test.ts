import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportFallback, selectRpmFrontend } from '../../../src/pm/rpm-frontend.js';
import { makeCapturingLogger } from '../../helpers/rpm-repo/pm-context.js';

/** Which program runs, decided against a PATH of fake binaries (they are never run here). */
describe('selectRpmFrontend (fake binaries on a private PATH)', () => {
  let dir: string;
  const bin = (name: string) => join(dir, name);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-rpm-frontend-'));
    await mkdir(join(dir, 'real'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function fake(name: string, target?: string): Promise<void> {
    if (target) {
      await writeFile(join(dir, 'real', target), '#!/bin/sh\n');
      await chmod(join(dir, 'real', target), 0o755);
      await symlink(join(dir, 'real', target), bin(name));
    } else {
      await writeFile(bin(name), '#!/bin/sh\n');
      await chmod(bin(name), 0o755);
    }
  }

  test('tdnf runs tdnf when it is installed', async () => {
    await fake('tdnf');
    await fake('dnf');
    expect(selectRpmFrontend('tdnf', dir)).toEqual({ adapter: 'tdnf', tool: 'tdnf', path: bin('tdnf') });
  });

  test('tdnf falls back to dnf when it is not installed, and says why', async () => {
    await fake('dnf');
    expect(selectRpmFrontend('tdnf', dir)).toEqual({
      adapter: 'tdnf',
      tool: 'dnf',
      path: bin('dnf'),
      fallback: 'tdnf is not installed on this host; running dnf with the same configuration instead',
    });
  });

  test('yum falls back to dnf when it is not installed', async () => {
    await fake('dnf');
    expect(selectRpmFrontend('yum', dir)).toMatchObject({ tool: 'dnf', path: bin('dnf') });
    expect(selectRpmFrontend('yum', dir).fallback).toMatch(/^yum is not installed/);
  });

  test('a yum that is a link to dnf-3 (Fedora, RHEL 8+) runs with dnf’s dialect, no fallback', async () => {
    await fake('yum', 'dnf-3');
    expect(selectRpmFrontend('yum', dir)).toEqual({ adapter: 'yum', tool: 'dnf', path: bin('yum') });
  });

  test('a real yum runs as yum', async () => {
    await fake('yum');
    expect(selectRpmFrontend('yum', dir)).toEqual({ adapter: 'yum', tool: 'yum', path: bin('yum') });
  });

  test('the fallback is reported once per logger', async () => {
    await fake('dnf');
    const logger = makeCapturingLogger();
    const frontend = selectRpmFrontend('tdnf', dir);
    reportFallback(logger, frontend);
    reportFallback(logger, frontend);
    expect(logger.lines).toEqual([{ level: 'warn', text: frontend.fallback }]);
  });
});
