import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runHook } from '../../src/hooks/run-hook.js';

import {
  hookFor,
  hookStageContext,
  type recordingLogger,
  type TestStageContext,
} from '../helpers/stage-context.js';

// Fault row "`base.sh` doing `touch /tmp/host-proof`": the real hook runner, real bash and real
// bubblewrap; the StageContext is made by hand (the pipeline is not needed to run a hook).
let dir: string;
let proof: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-fault-hook-'));
  proof = join(tmpdir(), `host-proof-${process.pid}-${Date.now()}`);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(proof, { force: true });
});

/** What the hook could do goes into $TMPDIR/report (the build's scratch folder is writable). */
const HOSTILE = (proofPath: string) => `
exec >"$TMPDIR/report" 2>&1
touch ${proofPath} && echo "host-proof written"
echo "shadow: $(wc -c < /etc/shadow) bytes"
echo "root: $(ls -A /root | wc -l) entries"
touch /usr/isobuild-hook-proof 2>/dev/null && echo "wrote /usr"
mount -o remount,rw / 2>/dev/null && echo "remounted /"
touch "$REPODIR/from-hook" 2>/dev/null && echo "wrote the repo folder"
mkdir -p "$(rootfs_dir "$PKGDIR")/etc" && echo built > "$(rootfs_dir "$PKGDIR")/etc/from-hook"
mknod "$(rootfs_dir "$PKGDIR")/null" c 1 3 && echo "mknod ok"
chown 1:1 "$(rootfs_dir "$PKGDIR")/etc/from-hook" && echo "chown ok"
chroot / true && echo "chroot ok"
true
`;

async function contextFor(
  raw: object,
  hook: string,
): Promise<{ ctx: TestStageContext; logger: ReturnType<typeof recordingLogger> }> {
  const repoDir = join(dir, 'repos', 'demo');
  const { ctx, logger } = await hookStageContext(repoDir, join(dir, 'work'), raw);
  await writeFile(join(repoDir, 'base.sh'), hook);
  return { ctx, logger };
}

test('a hook runs sandboxed by default: the root is writable; the repo folder, the host and its secrets are not', async () => {
  const { ctx } = await contextFor({}, HOSTILE(proof));
  await runHook(ctx, hookFor(ctx, 'base', join(ctx.spec.repoDir, 'base.sh')));
  const output = await readFile(join(ctx.tmpDir, 'report'), 'utf8');
  expect(existsSync(proof)).toBe(false);
  expect(existsSync('/usr/isobuild-hook-proof')).toBe(false);
  expect(existsSync(join(ctx.spec.repoDir, 'from-hook'))).toBe(false);
  // It wrote its proof into the sandbox's own /tmp, which went with it.
  expect(output).toMatch('host-proof written');
  expect(output).not.toMatch(/wrote \/usr|remounted|wrote the repo folder/);
  expect(output).toMatch(/\/etc\/shadow: Permission denied\nshadow: {2}bytes/);
  expect(output).toMatch(/root: 0 entries/);
  expect(output).toMatch('mknod ok\nchown ok\nchroot ok');
  expect(await readFile(join(ctx.rootfs, 'etc/from-hook'), 'utf8')).toBe('built\n');
});

test('hooks: { sandbox: false } runs on the host, with a warning', async () => {
  // Only the harmless part of the hostile hook: this one really runs on the host.
  const { ctx, logger } = await contextFor({ hooks: { sandbox: false } }, `touch ${proof}\n`);
  await runHook(ctx, hookFor(ctx, 'base', join(ctx.spec.repoDir, 'base.sh')));
  expect(existsSync(proof)).toBe(true);
  expect(logger.lines).toContainEqual({
    level: 'warn',
    msg: expect.stringMatching(/hooks\.sandbox is false: .*base\.sh runs as root on the host/),
  });
});
