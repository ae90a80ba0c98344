/**
 * One abort signal for the whole process, fired on SIGINT/SIGTERM, so every running
 * command is stopped and every stage's cleanup (temp dirs, mounts, locks) still runs.
 */
import { InterruptedError } from '../errors.js';

const controller = new AbortController();
let wired = false;

export function cancelSignal(): AbortSignal {
  return controller.signal;
}

export function wireCancellation(): void {
  if (wired) return;
  wired = true;
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new InterruptedError(sig));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export function throwIfCancelled(): void {
  if (controller.signal.aborted) throw controller.signal.reason;
}
