/** A stage's status in a build's human output: `[2/7] staging: cached` or `... built in 3.1 s`. */
export type StageStatus = 'cached' | 'built';

/** `[2/6] staging: cached` / `built in` lines of a build, as { stage: status }. */
export function stageStatuses(output: string): Record<string, StageStatus> {
  const statuses: Record<string, StageStatus> = {};
  for (const m of output.matchAll(/^\[\d+\/\d+\] ([\w-]+): (cached|built)/gm))
    statuses[m[1]!] = m[2] as StageStatus;
  return statuses;
}

/**
 * Checks a build's stage statuses. On a mismatch the error carries the build's stage lines,
 * where a stage built again over an older entry says why (`(rebuilds: staging.sh changed)`):
 * a cache expectation that fails on some day (a changed mirror, a tool upgraded under the run)
 * then names its cause instead of only "built" for "cached".
 */
export function expectStageStatuses(
  output: string,
  expected: Record<string, StageStatus> | readonly StageStatus[],
): void {
  const got = stageStatuses(output);
  const same = Array.isArray(expected)
    ? JSON.stringify(Object.values(got)) === JSON.stringify(expected)
    : JSON.stringify(got) === JSON.stringify(expected);
  if (same) return;
  const stageLines = output.split('\n').filter((l) => /^\[\d+\/\d+\] /.test(l) || /rebuil|refresh/i.test(l));
  throw new Error(
    [
      `stage statuses differ: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`,
      'the build said:',
      ...stageLines.map((l) => `  ${l}`),
    ].join('\n'),
  );
}
