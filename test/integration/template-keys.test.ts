import { appendFile, cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/run.js';
import { eventsOfType } from '../helpers/json-events.js';

/**
 * Templates and boot profiles are keyed by their content: editing one changes the key of the
 * stage that reads it, and of no stage before it, with no version bump. Runs the built CLI (npm run build first)
 * from a copy of dist/ and templates/ in a temp folder, so the edit touches no shared file.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REPO = join(ROOT, 'repos/debian-12');

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-template-keys-'));
  for (const part of ['dist', 'templates', 'package.json'])
    await cp(join(ROOT, part), join(dir, part), { recursive: true });
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Each stage's key as `plan --explain` computes it with the copied CLI. */
async function stageKeys(): Promise<Record<string, string>> {
  const res = await run('node', [join(dir, 'dist/cli/main.js'), '--json', 'plan', REPO, '--explain'], {
    cwd: dir,
    env: { ISOBUILD_CACHE: join(dir, 'cache'), SOURCE_DATE_EPOCH: '1700000000' },
    timeoutMs: 120_000,
    stage: 'template keys test',
  });
  const [plan] = eventsOfType(res.stdout, 'plan') as unknown as {
    cache: { stages: { stage: string; key: string }[] };
  }[];
  return Object.fromEntries(plan!.cache.stages.map((s) => [s.stage, s.key]));
}

/** Changes a file of the copy: a line added to a template, a kernel argument in a profile. */
async function edit(file: string): Promise<void> {
  if (file.startsWith('templates/')) return appendFile(join(dir, file), '\n');
  // A folder: the one file of it that holds the isobuild profile's kernel line (the bundle's
  // chunk with src/image/profile.ts, whichever it is).
  const kernelLine = /(["'])panic=-1\1/;
  const paths = file.endsWith('/')
    ? (await readdir(join(dir, file))).filter((f) => f.endsWith('.js')).map((f) => join(dir, file, f))
    : [join(dir, file)];
  const holding: string[] = [];
  for (const path of paths) if (kernelLine.test(await readFile(path, 'utf8'))) holding.push(path);
  expect(holding).toHaveLength(1);
  const text = await readFile(holding[0]!, 'utf8');
  const edited = text.replace(kernelLine, '$1panic=-1$1, $1quiet$1');
  expect(edited).not.toBe(text);
  await writeFile(holding[0]!, edited);
}

test.each([
  ['templates/boot/grub.cfg.hbs', 'iso'],
  ['templates/init/bootstrap.sh.hbs', 'tether'],
  // The isobuild profile's kernel line (in a chunk of the bundle the CLI runs), which the tether
  // stage reads first and the initrd stage writes to artifacts/cmdline.
  ['dist/bundle/', 'tether'],
])('editing %s changes the %s key and no key before it', async (file, stage) => {
  const before = await stageKeys();
  await edit(file);
  const after = await stageKeys();
  const stages = Object.keys(before);
  const at = stages.indexOf(stage);
  expect(at).toBeGreaterThan(0);
  expect(after[stage]).not.toBe(before[stage]);
  for (const earlier of stages.slice(0, at)) expect(after[earlier]).toBe(before[earlier]);
});
