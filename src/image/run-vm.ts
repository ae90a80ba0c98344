import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, UsageError } from '../errors.js';
import { indent, run, tail } from '../exec/run.js';
import { HOST_BUSYBOX } from '../exec/host-tools.js';
import { DEFAULT_ARCH } from '../spec/arch.js';
import { INIT_BUSYBOX } from '../tether/layout.js';
import { copyFromInitrd } from './initrd-file.js';
import { BOOT_PROFILES } from './profile.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { RUN_PARAM } from '../microvm/layout.js';
import { commandScript, makeBusyboxRoot, makeContainerDisk } from './containerfs.js';
import { bootVm, type VmOptions } from './qemu.js';

export const BEGIN_MARKER = 'ISOBUILD-BEGIN';
const BEGIN_RE = /ISOBUILD-BEGIN\s*$/;
/** The status marker may follow output that did not end with a newline: keep what precedes it. */
const EXIT_RE = /^(.*)ISOBUILD-EXIT (\d+)\s*$/;

export interface RunInVmOptions {
  vm: Omit<VmOptions, 'disks'>;
  argv: readonly string[];
  /** The container root; a busybox root when absent. */
  rootfs?: string;
  timeoutMs: number;
  /** Each line the command printed, as it comes. */
  onOutput: (line: string) => void;
  /** Every console line (for --console). */
  onConsole?: (line: string) => void;
  logger?: Logger;
}

/**
 * The console protocol of the tether: lines between ISOBUILD-BEGIN and ISOBUILD-EXIT <status>
 * are the command's. A small state machine so that it can be fed line by line while qemu runs.
 */
export function makeMarkerParser(onOutput: (line: string) => void) {
  let state: 'before' | 'inside' | 'done' = 'before';
  let status: number | undefined;
  return {
    feed(line: string): void {
      if (state === 'before') {
        if (BEGIN_RE.test(line)) state = 'inside';
        return;
      }
      if (state !== 'inside') return;
      const m = EXIT_RE.exec(line);
      if (!m) return onOutput(line);
      if (m[1]) onOutput(m[1]);
      status = Number(m[2]);
      state = 'done';
    },
    get status(): number | undefined {
      return status;
    },
    get begun(): boolean {
      return state !== 'before';
    },
  };
}

/** The kernel line has 2048 bytes on x86 and no quoting: the command goes base64-encoded, and short. */
const MAX_RUN_ARG = 1024;

/** `isobuild.run=<base64 of the command script>`, which the microVM init decodes and runs. */
export function microvmRunArg(argv: readonly string[]): string {
  const encoded = Buffer.from(commandScript(argv)).toString('base64');
  if (encoded.length > MAX_RUN_ARG)
    throw new UsageError(
      `the command is too long for a microVM's kernel command line (${encoded.length} base64 bytes, at most ${MAX_RUN_ARG}): put it in a script in the root`,
    );
  return `${RUN_PARAM}=${encoded}`;
}

/**
 * The busybox of the default container root: the host's, or for an image of another
 * architecture the image's own init layer's (the host's would not run in it), taken from its initrd.
 */
async function guestBusybox(vm: RunInVmOptions['vm'], work: string): Promise<string> {
  if ((vm.arch ?? DEFAULT_ARCH) === DEFAULT_ARCH) return HOST_BUSYBOX;
  let initrd: string;
  if (vm.target.kind === 'kernel') initrd = vm.target.initrd;
  else if (vm.target.kind === 'iso') initrd = await extractIsoInitrd(vm.target.iso, work);
  else throw new UsageError(`${vm.target.kind}: no initrd to take the ${vm.arch} busybox from`);
  // Named busybox: a multi-call binary picks its applet by its own name.
  await mkdir(join(work, 'guest'));
  const out = join(work, 'guest', 'busybox');
  await copyFromInitrd(initrd, INIT_BUSYBOX.slice(1), out);
  return out;
}

/** The ISO's initrd, at whichever of the profiles' paths it lies, extracted into `work`. */
async function extractIsoInitrd(iso: string, work: string): Promise<string> {
  const out = join(work, 'initrd.img');
  const paths = [...new Set(Object.values(BOOT_PROFILES).map((p) => p.isoInitrd))];
  for (const path of paths) {
    const res = await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', `/${path}`, out], {
      allowFailure: true,
    });
    if (res.exitCode === 0) return out;
  }
  throw new UsageError(`${iso}: no initrd at ${paths.join(' or ')}`);
}

/**
 * `isobuild run`: makes a containerfs disk holding the command, boots the image with it,
 * streams the command's output and returns its exit status. The disk and its folder are
 * removed whatever happens.
 */
export async function runInVm(o: RunInVmOptions): Promise<number> {
  const logger = o.logger ?? silentLogger;
  const work = await mkdtemp(join(tmpdir(), 'isobuild-run-'));
  try {
    let vm: VmOptions;
    if (o.vm.target.kind === 'microvm') {
      // A microVM runs the command in its own root: the microVM init reads it from the kernel line.
      if (o.rootfs) throw new UsageError('--rootfs: a microVM runs the command in its own root disk');
      vm = { ...o.vm, disks: [], append: [o.vm.append ?? '', microvmRunArg(o.argv)].join(' ').trim() };
    } else if (o.vm.target.kind === 'disk') {
      // A disk image's initrd runs the containerfs disk's command in the image's own root.
      if (o.rootfs) throw new UsageError('--rootfs: a disk image runs the command in its own root');
      const empty = join(work, 'empty');
      await mkdir(empty);
      vm = { ...o.vm, disks: [await makeContainerDisk(empty, o.argv, work, logger)] };
    } else {
      let rootfs = o.rootfs;
      if (!rootfs) {
        rootfs = join(work, 'rootfs');
        await makeBusyboxRoot(rootfs, logger, await guestBusybox(o.vm, work));
      }
      vm = { ...o.vm, disks: [await makeContainerDisk(rootfs, o.argv, work, logger)] };
    }
    const parser = makeMarkerParser(o.onOutput);
    const res = await bootVm(
      vm,
      {
        expect: [],
        timeoutMs: o.timeoutMs,
        onLine: (line) => {
          o.onConsole?.(line);
          parser.feed(line);
        },
        stopAt: () => parser.status !== undefined,
      },
      logger,
    );
    if (parser.status !== undefined) return parser.status;
    const why =
      res.reason === 'timeout'
        ? `no ${parser.begun ? 'ISOBUILD-EXIT' : BEGIN_MARKER} within ${o.timeoutMs / 1000} s`
        : `the VM stopped (${res.signal ? `qemu was killed by ${res.signal}` : `qemu exit status ${res.exitCode}`}) before ${parser.begun ? 'ISOBUILD-EXIT' : BEGIN_MARKER}`;
    const consoleTail = tail(res.lines.join('\n'), 30);
    throw new CommandError(
      `isobuild run: ${why}\n  $ ${res.command}\n  console (last lines):\n${indent(consoleTail, '    ')}`,
      { stage: 'run', command: res.command, outputTail: consoleTail },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
