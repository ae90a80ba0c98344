import { readFileSync, watch as watchFile, type FSWatcher } from 'node:fs';
import { copyFile, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { throwIfCancelled } from '../exec/cancel.js';
import { run } from '../exec/run.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { UEFI_FIRMWARE } from './boot-assets.js';
import { ARCHES, DEFAULT_ARCH, type Arch } from '../spec/arch.js';
import { secureBootMachineArgs, type SecureBootFirmware } from './secure-boot-firmware.js';
import { ARTIFACTS } from './artifacts.js';
import { isMicrovmFolder, readMicrovmFolder, type MicrovmTarget } from '../microvm/folder.js';
import { logSerialOf } from './profile.js';
import { sshCredentialArgs, sshNetArgs } from './ssh-access.js';
import { detectImageFormat } from './disk-detect.js';
import type { DiskFormatName } from './disk-formats.js';

/** What to boot: an ISO, or a kernel+initrd folder as the 'kernel+initrd' output writes it. */
export type BootTarget =
  | {
      kind: 'iso';
      iso: string;
      /** As a hard disk, the way a USB stick boots, not as a CD. */ asDisk?: boolean;
      /** The serial port its command line logs on (ttyS<N>), read from its boot loader config. */
      logSerial?: number;
    }
  | { kind: 'kernel'; kernel: string; initrd: string; cmdline: string }
  /** A bootable disk image (the disk targets' outputs), in the format qemu is told explicitly. */
  | {
      kind: 'disk';
      path: string;
      format: DiskFormatName;
      /** The guest writes into the file (--writable), instead of a temp overlay. */
      writable?: boolean;
    }
  /** A microVM folder (vm-config.json): booted with Firecracker's device model, qemu -M microvm. */
  | MicrovmTarget;

export interface VmOptions {
  target: BootTarget;
  /** The guest's architecture, read from the image (detect-arch.ts); default amd64. */
  arch?: Arch;
  uefi: boolean;
  /** UEFI with Secure Boot enforced (implies uefi): the secure firmware and its key store. */
  secureBoot?: SecureBootFirmware;
  /** Raw disk images attached after the boot medium. */
  disks: readonly string[];
  diskInterface: 'virtio' | 'ide';
  memoryMb: number;
  /** TCG by default: KVM hangs on some hosts, so it is only used when asked for. */
  accel: 'tcg' | 'kvm';
  /** Extra kernel arguments; only a kernel+initrd boot can take them. */
  append?: string;
  /** `isobuild qemu --ssh`: a user-mode NIC forwarding this host port to sshd, and the key for root. */
  ssh?: { port: number; publicKey: string };
}

/** A folder is a microVM folder (it has vm-config.json) or a kernel+initrd output; a file is an ISO. */
export async function resolveBootTarget(path: string): Promise<BootTarget> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new UsageError(`${path}: no such file or folder`);
  }
  if (!st.isDirectory()) {
    const format = await detectImageFormat(path);
    if (format && format !== 'iso') return { kind: 'disk', path, format };
    return { kind: 'iso', iso: path, logSerial: logSerialOf(await readIsoCmdline(path)) };
  }
  if (await isMicrovmFolder(path)) return readMicrovmFolder(path);
  const kernel = join(path, ARTIFACTS.kernel);
  const initrd = join(path, ARTIFACTS.initrd);
  for (const f of [kernel, initrd])
    if (!(await stat(f).catch(() => undefined)))
      throw new UsageError(`${path}: not a kernel+initrd folder (no ${f})`);
  const cmdline = await readFile(join(path, ARTIFACTS.cmdline), 'utf8').catch(() => '');
  return { kind: 'kernel', kernel, initrd, cmdline: cmdline.trim() };
}

/** The kernel command line an ISO's boot loader passes (isolinux's APPEND, else GRUB's linux line). */
export async function readIsoCmdline(iso: string): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'isobuild-isocfg-'));
  try {
    for (const cfg of ['/boot/isolinux/isolinux.cfg', '/boot/grub/grub.cfg']) {
      const out = join(work, 'cfg');
      const res = await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', cfg, out], {
        allowFailure: true,
      });
      const text = res.exitCode === 0 ? await readFile(out, 'utf8').catch(() => '') : '';
      const line = /^\s*APPEND\s+(.*)$/im.exec(text)?.[1] ?? /^\s*linux\s+\S+\s+(.*)$/m.exec(text)?.[1];
      if (line !== undefined) return line;
    }
    return '';
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The serial port the guest logs on: the earlier ones get a null back end. */
function logSerialOfTarget(o: VmOptions): number {
  if (o.target.kind === 'iso') return o.target.logSerial ?? 0;
  if (o.target.kind === 'disk') return 0;
  return logSerialOf(`${o.target.cmdline} ${o.append ?? ''}`);
}

/**
 * The host's TSC rate in kHz, from /proc/cpuinfo. A microvm machine has no HPET and no ACPI PM
 * timer, so the kernel can calibrate its TSC only against the PIT, which fails on a busy host
 * under TCG and leaves the boot hanging; TCG's TSC runs at the host's rate, so the kernel is
 * told it (tsc_early_khz=). Firecracker's KVM guests get the rate from the hypervisor instead.
 */
export function hostTscKhz(cpuinfo?: string): number | undefined {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return undefined;
    }
  }
  const mhz = /^cpu MHz\s*:\s*([0-9.]+)/m.exec(text)?.[1];
  return mhz ? Math.round(Number(mhz) * 1000) : undefined;
}

/**
 * The qemu command line. The serial port is the only console we read: on stdio, or into
 * `consoleFile`, with the monitor off, so nothing but the guest's output reaches us.
 * -no-reboot turns the guest's reboot (and panic=-1) into qemu exiting.
 */
export function qemuArgs(o: VmOptions, ovmfVars?: string, consoleFile?: string): string[] {
  const arm = (o.arch ?? DEFAULT_ARCH) === 'arm64';
  // Firecracker's device model: no firmware, no PCI, virtio-mmio devices found through ACPI,
  // and no default devices (a NIC would be set up by the VMM, not us). arm64 has no such
  // machine in qemu: virt, whose virtio-mmio slots take the same virtio-blk-device drives.
  // -cpu max with the implementation-defined pointer authentication: the architected one
  // (QARMA) is most of a TCG guest's time.
  const machine = arm
    ? ['-M', 'virt', '-cpu', 'max,pauth-impdef=on']
    : o.target.kind === 'microvm'
      ? ['-M', 'microvm', '-nodefaults', '-no-user-config']
      : [];
  const args = [...machine, '-accel', o.accel, '-m', String(o.memoryMb), '-smp', '1'];
  // qemu's UART drops a byte after a few failed writes to a full pipe (a busy host is enough);
  // a file never refuses a write, so watched boots read the console from one.
  const serial = consoleFile
    ? ['-chardev', `file,id=console,path=${consoleFile.replace(/,/g, ',,')}`, '-serial', 'chardev:console']
    : ['-serial', 'stdio'];
  const before = Array.from({ length: logSerialOfTarget(o) }, () => ['-serial', 'null']).flat();
  args.push('-display', 'none', ...before, ...serial, '-monitor', 'none', '-no-reboot');
  if (o.uefi) {
    if (!ovmfVars) throw new UsageError('a UEFI boot needs a writable copy of OVMF_VARS.fd');
    if (o.secureBoot) args.push(...secureBootMachineArgs());
    args.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${o.secureBoot?.code ?? UEFI_FIRMWARE[o.arch ?? DEFAULT_ARCH].code}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${ovmfVars}`,
    );
  }
  if (o.target.kind === 'microvm') {
    if (o.uefi) throw new UsageError('a microVM boots without firmware: --uefi does not apply');
    if (o.ssh) throw new UsageError('--ssh: a microVM has no PCI NIC or SMBIOS to take the key');
    const tsc = o.accel === 'tcg' && !arm ? hostTscKhz() : undefined;
    // Firecracker's arm64 UART is ttyS0; qemu's virt has a PL011: the last console= wins.
    const append = [
      o.target.cmdline,
      tsc ? `tsc_early_khz=${tsc}` : '',
      arm ? 'console=ttyAMA0' : '',
      o.append ?? '',
    ]
      .filter((s) => s.trim() !== '')
      .join(' ');
    args.push(
      '-kernel',
      o.target.kernel,
      ...(o.target.initrd ? ['-initrd', o.target.initrd] : []),
      '-append',
      append,
    );
    // snapshot=on: the guest writes to a temp overlay, never into the output's image.
    const drives = [
      ...o.target.drives.map(
        (d) => `file=${d.path},format=raw,${d.readOnly ? 'readonly=on' : 'snapshot=on'}`,
      ),
      ...o.disks.map((disk) => `file=${disk},format=raw`),
    ];
    drives.forEach((drive, i) => {
      args.push('-drive', `id=vd${i},if=none,${drive}`, '-device', `virtio-blk-device,drive=vd${i}`);
    });
    return args;
  }
  if (o.target.kind === 'disk') {
    // virtio-blk, which SeaBIOS and OVMF both boot from; snapshot=on keeps the guest's writes
    // out of the image unless --writable. The format is given: qemu refuses to guess it for a raw file's writes.
    args.push(
      '-drive',
      `id=boot,if=none,file=${o.target.path.replace(/,/g, ',,')},format=${o.target.format}${o.target.writable ? '' : ',snapshot=on'}`,
      '-device',
      'virtio-blk-pci,drive=boot,bootindex=0',
    );
  } else if (o.target.kind === 'iso') {
    // The boot medium sits on an AHCI controller: the firmware (SeaBIOS, OVMF) reads it by DMA,
    // where the PIIX IDE channel makes isolinux load the kernel and initrd by port I/O, which
    // costs ~1.3 s more under TCG. As a hard disk it is the way a USB stick boots; snapshot=on
    // sends the guest's writes to a temp overlay, never into the ISO.
    // arm64's AAVMF reads CDs through virtio-scsi, not AHCI.
    const bus = arm
      ? { controller: 'virtio-scsi-pci,id=scsi', name: 'scsi.0', hd: 'scsi-hd', cd: 'scsi-cd' }
      : { controller: 'ahci,id=ahci', name: 'ahci.0', hd: 'ide-hd', cd: 'ide-cd' };
    const medium = o.target.asDisk
      ? { drive: `file=${o.target.iso},format=raw,snapshot=on`, device: bus.hd }
      : { drive: `file=${o.target.iso},media=cdrom,readonly=on`, device: bus.cd };
    args.push(
      '-device',
      bus.controller,
      '-drive',
      `id=boot,if=none,${medium.drive}`,
      '-device',
      `${medium.device},drive=boot,bus=${bus.name},bootindex=0`,
    );
  } else {
    const append = [o.target.cmdline, o.append ?? ''].filter((s) => s.trim() !== '').join(' ');
    args.push('-kernel', o.target.kernel, '-initrd', o.target.initrd, '-append', append);
  }
  o.disks.forEach((disk, i) => {
    // IDE disks take the PIIX channels' four slots (the boot medium is on AHCI).
    if (o.diskInterface === 'ide' && i >= 4) throw new UsageError('too many IDE disks: use virtio');
    const where = o.diskInterface === 'virtio' ? 'if=virtio' : `if=ide,index=${i}`;
    args.push('-drive', `file=${disk},format=raw,${where}`);
  });
  if (o.ssh) args.push(...sshNetArgs(o.ssh.port), ...sshCredentialArgs(o.ssh.publicKey));
  return args;
}

/** The system emulator for the guest's architecture. */
export function qemuBinary(o: Pick<VmOptions, 'arch'>): string {
  return ARCHES[o.arch ?? DEFAULT_ARCH].qemu;
}

/**
 * The command line of an interactive boot: the serial console and qemu's monitor share the
 * terminal (Ctrl-A X quits qemu, Ctrl-A C switches to the monitor).
 */
export function interactiveQemuArgs(o: VmOptions, ovmfVars?: string): string[] {
  const args = qemuArgs(o, ovmfVars).map((a) => (a === 'stdio' ? 'mon:stdio' : a));
  const monitor = args.indexOf('-monitor');
  if (monitor !== -1) args.splice(monitor, 2);
  return args;
}

export interface ConsoleWatch {
  /** Stop once every one of these has matched some console line. */
  expect: readonly RegExp[];
  /** Give up after this long. */
  timeoutMs: number;
  /** Called with every console line (without CR or terminal escapes). */
  onLine?: (line: string) => void;
  /** Stop as soon as this returns true for a line (the run command's exit marker). */
  stopAt?: (line: string) => boolean;
}

export interface BootResult {
  /** Why qemu stopped: every expectation met, stopAt fired, the guest ended, or time ran out. */
  reason: 'matched' | 'stopped' | 'exited' | 'timeout';
  /** For each expectation, whether it was seen. */
  seen: boolean[];
  lines: string[];
  command: string;
  exitCode: number;
  /** The signal that ended qemu, when one did (someone killed it, or the OOM killer). */
  signal?: string;
}

/** Serial output carries CRs and the firmware's terminal escapes; the regexes should not see them. */
export function cleanConsoleLine(line: string): string {
  return (
    line
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>c]/g, '')
      .replace(/\r/g, '')
      .replace(/\n$/, '')
  );
}

/**
 * Splits raw console bytes into lines (cleaned of CRs and escapes). A prompt ("login: ") never
 * ends its line, so each time the unfinished line grows it goes to `onPartial` to be matched;
 * it becomes a line only when its newline comes, or at `end()`.
 */
export function makeConsoleSplitter(onLine: (line: string) => void, onPartial: (partial: string) => void) {
  const decoder = new TextDecoder();
  let partial = '';
  return {
    feed(chunk: Uint8Array): void {
      const pieces = (partial + decoder.decode(chunk, { stream: true })).split('\n');
      partial = pieces.pop()!;
      for (const piece of pieces) onLine(cleanConsoleLine(piece));
      if (partial) onPartial(cleanConsoleLine(partial));
    },
    end(): void {
      partial += decoder.decode();
      if (partial) onLine(cleanConsoleLine(partial));
      partial = '';
    },
  };
}

/**
 * Runs `fn` with a private copy of OVMF's variable store when booting under UEFI (the firmware
 * writes to it), removed afterwards.
 */
export async function withOvmfVars<T>(
  firmware: boolean | Pick<VmOptions, 'uefi' | 'secureBoot' | 'arch'>,
  fn: (vars?: string) => Promise<T>,
): Promise<T> {
  const { uefi, secureBoot } =
    typeof firmware === 'boolean' ? { uefi: firmware, secureBoot: undefined } : firmware;
  if (!uefi && !secureBoot) return fn(undefined);
  const scratch = await mkdtemp(join(tmpdir(), 'isobuild-ovmf-'));
  try {
    const vars = join(scratch, 'OVMF_VARS.fd');
    const arch = typeof firmware === 'boolean' ? DEFAULT_ARCH : (firmware.arch ?? DEFAULT_ARCH);
    await copyFile(secureBoot?.varsTemplate ?? UEFI_FIRMWARE[arch].vars, vars);
    return await fn(vars);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Boots a VM and watches its serial console. Lines go to `watch.onLine` as they come; qemu is
 * stopped as soon as the watch is satisfied or the time is up (the VM's disks are scratch,
 * so there is nothing to shut down cleanly). Never throws for an unmet expectation: the
 * caller decides what that means.
 */
export async function bootVm(
  o: VmOptions,
  watch: ConsoleWatch,
  logger: Logger = silentLogger,
): Promise<BootResult> {
  return withOvmfVars(o, (ovmfVars) => watchVm(o, watch, logger, ovmfVars));
}

/** How often the console file is read when no change event came (a backstop). */
const CONSOLE_POLL_MS = 250;

async function watchVm(
  o: VmOptions,
  watch: ConsoleWatch,
  logger: Logger,
  ovmfVars?: string,
): Promise<BootResult> {
  const seen = watch.expect.map(() => false);
  const lines: string[] = [];
  const stop = new AbortController();
  let reason: BootResult['reason'] | undefined;
  const finish = (why: BootResult['reason']) => {
    if (reason) return;
    reason = why;
    stop.abort(new Error(why));
  };
  const check = (line: string) => {
    watch.expect.forEach((re, i) => {
      if (!seen[i] && re.test(line)) seen[i] = true;
    });
    if (watch.stopAt?.(line)) finish('stopped');
    else if (watch.expect.length > 0 && seen.every(Boolean)) finish('matched');
  };
  const splitter = makeConsoleSplitter((line) => {
    lines.push(line);
    watch.onLine?.(line);
    check(line);
  }, check);
  const timer = setTimeout(() => finish('timeout'), watch.timeoutMs);
  const scratch = await mkdtemp(join(tmpdir(), 'isobuild-console-'));
  const consoleFile = join(scratch, 'console.log');
  await writeFile(consoleFile, '');
  const consoleFh = await open(consoleFile, 'r');
  let polling = true;
  const buffer = Buffer.alloc(64 * 1024);
  const drain = async () => {
    for (;;) {
      const { bytesRead } = await consoleFh.read(buffer, 0, buffer.length, null);
      if (!bytesRead) return;
      splitter.feed(buffer.subarray(0, bytesRead));
    }
  };
  // qemu writes the console to a file: read it when inotify says it grew, so the end marker is
  // seen at once (`isobuild run` stops the VM on it). The slow poll is only a backstop for file
  // systems without change events.
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watchFile(consoleFile, { persistent: false }, () => wake?.());
  } catch {
    watcher = undefined;
  }
  const poller = (async () => {
    while (polling) {
      await drain();
      if (!polling) break;
      const ac = new AbortController();
      await Promise.race([
        new Promise<void>((resolve) => (wake = resolve)),
        sleep(CONSOLE_POLL_MS, undefined, { signal: ac.signal }).catch(() => undefined),
      ]);
      ac.abort();
      wake = undefined;
    }
  })();
  try {
    const res = await run(qemuBinary(o), qemuArgs(o, ovmfVars, consoleFile), {
      stage: 'boot',
      logger,
      signal: stop.signal,
      allowFailure: true,
      input: '',
      // A SIGKILLed isobuild must not leave the VM running.
      dieWithParent: true,
    });
    polling = false;
    wake?.();
    await poller;
    await drain();
    throwIfCancelled();
    splitter.end();
    // qemu's own complaints (a missing disk, a bad option) belong in the console tail.
    for (const l of res.stderr.split('\n')) if (l.trim()) lines.push(l.trim());
    if (!reason) reason = 'exited';
    return { reason, seen, lines, command: res.command, exitCode: res.exitCode, signal: res.signal };
  } finally {
    polling = false;
    wake?.();
    watcher?.close();
    clearTimeout(timer);
    await poller.catch(() => undefined);
    await consoleFh.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
