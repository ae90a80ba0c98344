import { appendFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Every command isobuild runs leads its own process group, so one signal reaches the whole
 * tree a tool starts (mmdebstrap → apt → dpkg → maintainer scripts), not just the direct child.
 * A build also writes each group it starts to a file in its session folder: when the build is
 * SIGKILLed, the next one reads that file and ends what the dead build left running.
 */

/** How long a group gets between SIGTERM and SIGKILL: short, so Ctrl-C ends a build within 5 s. */
export const GRACE_MS = 2000;

let groupsFile: string | undefined;
/** Groups running now: a hard exit (a second Ctrl-C) still takes them down. */
const live = new Set<number>();
process.on('exit', () => {
  for (const pgid of live) signalGroup(pgid, 'SIGKILL');
});

/** Where this process records the groups it starts (undefined: not recorded). */
export function recordGroupsIn(file: string | undefined): void {
  groupsFile = file;
}

/** Start time of a process in clock ticks since boot (/proc/PID/stat field 22): tells a reused pid apart. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold blanks and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Called right after a command starts: its pid is its group id (it was spawned detached). */
export async function noteGroup(pid: number): Promise<void> {
  live.add(pid);
  if (!groupsFile) return;
  const started = (await processStartTime(pid)) ?? '?';
  // Synchronous append: a SIGKILL right after must still find the line.
  appendFileSync(groupsFile, `${pid} ${started}\n`, { mode: 0o644 });
}

/** Called once a command's group is over. */
export function forgetGroup(pgid: number): void {
  live.delete(pgid);
}

/** Whether any process is left in group `pgid`. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM to the whole group, then SIGKILL to whatever is left after `graceMs`. */
export async function endGroup(pgid: number, graceMs = GRACE_MS): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  // Looked at after 5 ms, then less and less often: `isobuild run` waits here for every VM it
  // stops at the exit marker, and qemu ends within milliseconds of SIGTERM (a first look after
  // 50 ms was 5% of a microVM run).
  for (let wait = 5; Date.now() < deadline; wait = Math.min(wait * 2, 50)) {
    await sleep(wait);
    if (!groupAlive(pgid)) return;
  }
  signalGroup(pgid, 'SIGKILL');
  for (let i = 0; i < 40 && groupAlive(pgid); i++) await sleep(25);
}

/**
 * Ends the groups a dead build recorded. A group id is only ours if its leader is gone (Linux
 * reuses no pid while a group of that id lives) or is the very process we started (same start
 * time); a leader with another start time is an unrelated process that got the pid later.
 * Returns the groups it ended.
 */
export async function endRecordedGroups(file: string): Promise<number[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const ended: number[] = [];
  for (const line of text.split('\n')) {
    const [pidText, started] = line.split(' ');
    const pgid = Number(pidText);
    if (!Number.isInteger(pgid) || pgid <= 1 || !groupAlive(pgid)) continue;
    const leaderStart = await processStartTime(pgid);
    if (leaderStart !== undefined && leaderStart !== started) continue;
    signalGroup(pgid, 'SIGKILL');
    ended.push(pgid);
  }
  for (let i = 0; i < 40 && ended.some(groupAlive); i++) await sleep(25);
  return ended;
}

/** Pids of the processes in a group (for tests and messages). */
export async function groupMembers(pgid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) pids.push(Number(name));
  }
  return pids;
}
