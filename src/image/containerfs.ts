import { chmod, copyFile, mkdir, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { run } from '../exec/run.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { quoteAlways } from '../exec/shell-quote.js';
import { measureTree } from '../fs/measure-tree.js';
import { refreshLinkCounts } from '../fs/refresh-link-counts.js';
import { HOST_BUSYBOX } from '../exec/host-tools.js';

/** Where `isobuild run` puts the command in the container disk (the tether's contract). */
export const COMMAND_PATH = '/.isobuild/command';
export const CONTAINERFS_LABEL = 'containerfs';

/** The POSIX sh script the tether runs: `exec` so the command's status is the script's. */
export function commandScript(argv: readonly string[]): string {
  if (argv.length === 0) throw new BuildError('isobuild run needs a command to run');
  return `#!/bin/sh\n# Written by isobuild run.\nexec ${argv.map(quoteAlways).join(' ')}\n`;
}

/**
 * The default container root: Debian's static busybox with its applets linked where busybox
 * says they live, and the few files a shell session expects.
 */
export async function makeBusyboxRoot(
  root: string,
  logger: Logger = silentLogger,
  busybox: string = HOST_BUSYBOX,
): Promise<void> {
  for (const d of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'root',
    'proc',
    'sys',
    'dev',
    'run',
    'var/tmp',
  ])
    await mkdir(join(root, d), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await copyFile(busybox, join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  // Another architecture's busybox answers through qemu-user (binfmt_misc).
  const list = await run(busybox, ['--list-full'], { logger });
  // All at once: one by one, the ~400 links waited for the event loop each time (a tenth of a
  // second or more of every `isobuild run` of an ISO).
  await Promise.all(
    list.stdout
      .split('\n')
      .filter((p) => p && p !== 'bin/busybox')
      .map((path) => {
        const depth = path.split('/').length - 1;
        const target = '../'.repeat(depth) + 'bin/busybox';
        return symlink(target, join(root, path)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
      }),
  );
  await writeFile(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
  );
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  await writeFile(join(root, 'etc/hostname'), 'isobuild\n');
}

/** Room for the files, ext4's metadata and the journal, in whole MiB; at least 64 MiB. */
export function containerDiskBytes(treeBytes: number): number {
  const mib = 1024 * 1024;
  return Math.max(64, Math.ceil((treeBytes * 1.25) / mib) + 32) * mib;
}

/**
 * The containerfs disk: an ext4 image labelled containerfs, filled from `rootfs` by
 * mkfs.ext4 -d (no loop mounts), with the command added by debugfs so that the user's folder
 * is never written to. Returns the image path (inside `workDir`).
 */
export async function makeContainerDisk(
  rootfs: string,
  argv: readonly string[],
  workDir: string,
  logger: Logger = silentLogger,
): Promise<string> {
  const image = join(workDir, 'containerfs.img');
  const script = join(workDir, 'command');
  await writeFile(script, commandScript(argv), { mode: 0o755 });
  const { bytes, entries } = await measureTree(rootfs);
  await writeFile(image, '');
  await truncate(image, containerDiskBytes(bytes));
  const opts = { stage: 'run', logger };
  await refreshLinkCounts(rootfs, opts);
  await run(
    'mkfs.ext4',
    [
      '-q',
      '-F',
      '-L',
      CONTAINERFS_LABEL,
      '-N',
      String(Math.max(16384, entries * 2)),
      '-E',
      'root_owner=0:0',
      '-d',
      rootfs,
      image,
    ],
    opts,
  );
  const commands = join(workDir, 'debugfs.cmds');
  await writeFile(
    commands,
    [
      'mkdir /.isobuild',
      `rm ${COMMAND_PATH}`,
      `write "${script}" ${COMMAND_PATH}`,
      `set_inode_field ${COMMAND_PATH} mode 0100755`,
      `set_inode_field ${COMMAND_PATH} uid 0`,
      `set_inode_field ${COMMAND_PATH} gid 0`,
      '',
    ].join('\n'),
  );
  await run('debugfs', ['-w', '-f', commands, image], opts);
  // debugfs reports a failed request but still exits 0: read the command back to be sure.
  const back = await run('debugfs', ['-R', `cat ${COMMAND_PATH}`, image], opts);
  if (back.stdout !== (await readFile(script, 'utf8')))
    throw new BuildError(
      `could not write ${COMMAND_PATH} into the container disk:\n${back.all.trim()}`,
      'run',
    );
  return image;
}
