import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixtureRepo, type FixtureRepo } from './fixture-repo.js';
import { makePmContext, type TestPmContext } from './pm-context.js';

/**
 * Fake dnf / yum / tdnf binaries on PATH that record their arguments and the config file
 * they were given (-c), for checking exactly what an adapter passes. They install nothing:
 * the integration tests run the real tools.
 */
export interface FakeFrontends {
  dir: string;
  /** One entry per call: the arguments, and the text of the -c config. */
  calls(): Promise<{ tool: string; args: string[]; config: string }[]>;
  restore(): Promise<void>;
}

const SCRIPT = (record: string, tool: string) => `#!/bin/sh
# Records one call: a header, the arguments one a line, the config file's text.
{
  echo "=== ${tool} $#"
  for a in "$@"; do echo "$a"; done
  conf=""
  prev=""
  for a in "$@"; do [ "$prev" = "-c" ] && conf="$a"; prev="$a"; done
  echo "--- config"
  [ -n "$conf" ] && cat "$conf"
  echo "--- end"
} >> "${record}"
`;

export async function installFakeFrontends(tools: readonly string[]): Promise<FakeFrontends> {
  const dir = await mkdtemp(join(tmpdir(), 'isobuild-fake-rpm-'));
  const record = join(dir, 'calls.log');
  await writeFile(record, '');
  for (const tool of tools) {
    await writeFile(join(dir, tool), SCRIPT(record, tool));
    await chmod(join(dir, tool), 0o755);
  }
  const savedPath = process.env.PATH;
  process.env.PATH = `${dir}:/usr/bin:/bin`;
  return {
    dir,
    async calls() {
      const text = await readFile(record, 'utf8');
      const out: { tool: string; args: string[]; config: string }[] = [];
      for (const block of text.split('=== ').slice(1)) {
        const [head, ...rest] = block.split('\n');
        const [tool, count] = head!.split(' ');
        const args = rest.slice(0, Number(count));
        const body = rest.slice(Number(count)).join('\n');
        const config = body.slice(body.indexOf('--- config\n') + 11, body.lastIndexOf('--- end'));
        out.push({ tool: tool!, args, config });
      }
      return out;
    },
    async restore() {
      process.env.PATH = savedPath;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The fixture repo (pointing nowhere), a PmContext over temp folders and fake front ends on
 * PATH: what every exact-arguments test of the RPM adapters starts from. `tearDown` undoes it.
 */
export async function setUpFakeFrontendTest(
  packagemanager: 'dnf' | 'yum' | 'tdnf',
  tools: readonly string[],
): Promise<{ fixture: FixtureRepo; t: TestPmContext; fake: FakeFrontends; tearDown(): Promise<void> }> {
  const fixture = await makeFixtureRepo({ packagemanager, baseurl: 'file:///nowhere' });
  const t = await makePmContext(fixture.spec);
  await mkdir(t.ctx.rootfs, { recursive: true });
  const fake = await installFakeFrontends(tools);
  return {
    fixture,
    t,
    fake,
    async tearDown() {
      await fake.restore();
      await t.cleanup();
      await fixture.cleanup();
    },
  };
}
