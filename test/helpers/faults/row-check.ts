import type { RowFigures } from './row-runner.js';
import type { FaultSizes } from './scenario.js';

/*
 * What a row must show to pass, for the tests and for the soak's exit code alike: no corrupted
 * byte, no connection failing that should have completed, the fault acting where it should, a
 * recovery every repetition, nothing left open.
 */

export function rowProblems(row: RowFigures): string[] {
  const problems: string[] = [];
  if (row.error !== undefined) problems.push(`the scenario failed: ${row.error}`);
  if (row.bytesCorrupted !== 0) problems.push(`${row.bytesCorrupted} corrupted bytes`);
  if (row.unexpectedFailures !== 0) problems.push(`${row.unexpectedFailures} connections failed that should have completed: ${row.failureReasons.join('; ')}`);
  if (row.unexpectedCompletions !== 0) problems.push(`${row.unexpectedCompletions} connections completed that the fault should have broken`);
  if (row.recoveryMs.length !== row.repetitions) problems.push(`recovered in ${row.recoveryMs.length} of ${row.repetitions} repetitions`);
  const { client, waiting, destination } = row.leftOpen;
  if (client + waiting + destination !== 0) problems.push(`left open: ${client} client, ${waiting} waiting, ${destination} destination connections`);
  return problems;
}

/** Small enough for `npm test`: every row in about a second, bar the faults that last by design. */
export const TEST_SIZES: FaultSizes = {
  transferBytes: 256 * 1024,
  parallel: 3,
  repetitions: 1,
  warmup: false,
  faultMs: 300,
  resumeOutageMs: 2000,
  closeEveryMs: 300,
  stallTimeoutMs: 10_000,
};
