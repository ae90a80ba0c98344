import { cp, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../../src/exec/run.js';
import { sha256File } from '../../src/fs/hash.js';

/**
 * The debian-12 appliance on a GPT disk through the real CLI: built once (raw, qcow2, vmdk) with
 * its own cache, booted in qemu (TCG) under SeaBIOS and OVMF with `isobuild run`, rebuilt with
 * --force for byte-identical disks, and refused when --size is too small. Four boots in all:
 * qcow2 under BIOS and UEFI, vmdk under BIOS, raw under UEFI.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');

let dir: string;
let env: Record<string, string>;
const cli = (args: string[], timeoutMs = 900_000): Promise<RunResult> =>
  run('node', [CLI, ...args], { cwd: dir, env, timeoutMs, stage: 'disk image test' });
const disk = (bin: string, ext: string) => join(dir, bin, `appliance-debian-12.${ext}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-disk-'));
  await cp(join(ROOT, 'repos', 'debian-12'), join(dir, 'repos', 'debian-12'), { recursive: true });
  env = { ISOBUILD_CACHE: join(dir, 'cache'), ISOBUILD_REPOS: join(dir, 'repos'), NO_COLOR: '1' };
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
  await cli(['build', 'debian-12', '--target', 'appliance-disk', '--format', 'raw,qcow2,vmdk']);
}, 1_200_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function runUname(image: string, uefi: boolean): Promise<string> {
  const res = await cli(
    ['run', image, ...(uefi ? ['--uefi'] : []), '--timeout', '400', '--', 'uname', '-r'],
    600_000,
  );
  return res.stdout.trim();
}

describe('appliance-disk (debian-12)', () => {
  test('the formats are what qemu-img says they are: a streamOptimized VMDK, a compressed qcow2 of the same disk', async () => {
    const vmdk = await run('qemu-img', ['info', '--output=json', disk('bin', 'vmdk')]);
    expect(JSON.parse(vmdk.stdout)['format-specific'].data['create-type']).toBe('streamOptimized');
    const compare = await run('qemu-img', [
      'compare',
      '-f',
      'raw',
      '-F',
      'qcow2',
      disk('bin', 'raw'),
      disk('bin', 'qcow2'),
    ]);
    expect(compare.stdout).toMatch(/Images are identical/);
    expect((await stat(disk('bin', 'qcow2'))).size).toBeLessThan((await stat(disk('bin', 'raw'))).size);
  }, 120_000);

  test('qcow2 boots under BIOS and under UEFI, and isobuild run prints uname -r', async () => {
    const bios = await runUname(disk('bin', 'qcow2'), false);
    expect(bios).toMatch(/^\d+\.\d+\.\d+-\d+-cloud-amd64$/);
    expect(await runUname(disk('bin', 'qcow2'), true)).toBe(bios);
  }, 1_200_000);

  test('vmdk boots under BIOS and raw under UEFI', async () => {
    const vmdk = await runUname(disk('bin', 'vmdk'), false);
    expect(vmdk).toMatch(/-cloud-amd64$/);
    expect(await runUname(disk('bin', 'raw'), true)).toBe(vmdk);
  }, 1_200_000);

  test('a second build (--force) gives byte-identical raw, qcow2 and vmdk disks', async () => {
    await cli([
      'build',
      'debian-12',
      '--target',
      'appliance-disk',
      '--format',
      'raw,qcow2,vmdk',
      '--bin',
      'bin2',
      '--force',
    ]);
    for (const ext of ['raw', 'qcow2', 'vmdk'])
      expect(`${ext} ${await sha256File(disk('bin2', ext))}`).toBe(
        `${ext} ${await sha256File(disk('bin', ext))}`,
      );
  }, 900_000);

  test('a disk too small for the root fails before writing anything, naming the size it needs', async () => {
    const before = await readdir(join(dir, 'bin'));
    const mtime = (await stat(disk('bin', 'raw'))).mtimeMs;
    const res = await run(
      'node',
      [CLI, 'build', 'debian-12', '--target', 'appliance-disk', '--size', '64M', '--force'],
      { cwd: dir, env, allowFailure: true, timeoutMs: 600_000 },
    );
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toMatch(/disk's 64\.0 MiB cannot hold it: it needs at least \d+M/);
    expect(await readdir(join(dir, 'bin'))).toEqual(before);
    expect((await stat(disk('bin', 'raw'))).mtimeMs).toBe(mtime);
  }, 600_000);
});

/**
 * disk.root squashfs on a copy of the repo (given by path, so its name and the stages before
 * drivers come from the same cache): the read-only root under an ext4 overlay partition. A file
 * written in one boot (--writable, on a copy of the disk) is read in the next, under the other
 * firmware; a rebuild gives the same bytes.
 */
describe('appliance-disk with root: squashfs (debian-12)', () => {
  const repo = () => join(dir, 'squashfs-repo', 'debian-12');
  const sqDisk = (bin: string) => join(dir, bin, 'squashfs.raw');
  const build = (bin: string, ...extra: string[]) =>
    cli(['build', repo(), '--target', 'appliance-disk', '--output', sqDisk(bin), ...extra]);

  beforeAll(async () => {
    await cp(join(ROOT, 'repos', 'debian-12'), repo(), { recursive: true });
    const file = join(repo(), 'repo-spec.json');
    const spec = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    delete spec.$schema;
    await writeFile(file, JSON.stringify({ ...spec, disk: { root: 'squashfs' } }, null, 2));
    await build('bin');
  }, 1_200_000);

  test('the GPT has esp, root (a squashfs) and overlay partitions', async () => {
    const table = JSON.parse((await run('sfdisk', ['--json', sqDisk('bin')])).stdout) as {
      partitiontable: { partitions: { name: string; start: number }[] };
    };
    const parts = table.partitiontable.partitions;
    expect(parts.map((p) => p.name)).toEqual(['esp', 'root', 'overlay']);
    const head = Buffer.alloc(4);
    const fd = await open(sqDisk('bin'), 'r');
    await fd.read(head, 0, 4, parts[1]!.start * 512);
    await fd.close();
    expect(head.toString('latin1')).toBe('hsqs');
  }, 120_000);

  test('a file written in one boot (BIOS) is read in the next (UEFI): writes persist on the overlay partition', async () => {
    const copy = join(dir, 'squashfs-writable.raw');
    await run('cp', ['--sparse=always', sqDisk('bin'), copy]);
    const write = await cli(
      ['run', copy, '--writable', '--', 'sh', '-c', 'uname -r > /root/persisted; grep " / " /proc/mounts'],
      600_000,
    );
    expect(write.stdout).toMatch(/^overlay \/ overlay .*lowerdir=/m);
    const read = await cli(['run', copy, '--writable', '--uefi', '--', 'cat', '/root/persisted'], 600_000);
    expect(read.stdout.trim()).toMatch(/^\d+\.\d+\.\d+-\d+-cloud-amd64$/);
    // Without --writable the guest's writes never reach the file.
    const fresh = await cli(
      ['run', sqDisk('bin'), '--', 'sh', '-c', 'test -e /root/persisted; echo $?'],
      600_000,
    );
    expect(fresh.stdout.trim()).toBe('1');
  }, 1_800_000);

  test('a second build (--force) gives a byte-identical disk', async () => {
    await build('bin2', '--force');
    expect(await sha256File(sqDisk('bin2'))).toBe(await sha256File(sqDisk('bin')));
  }, 900_000);
});
