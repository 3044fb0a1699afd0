import { expect, it } from 'vitest';
import { rowProblems, TEST_SIZES } from '../helpers/faults/row-check.js';
import { runRow } from '../helpers/faults/row-runner.js';
import { scenarioById } from '../helpers/faults/scenarios.js';

/**
 * One test per row (scenario × mode) of the fault matrix, at the small sizes. The client runs in a
 * process of its own, as in the soak: some races between the two ends (basic mode's reset, for one)
 * only show when they really run side by side. Needs `npm run build` (npm test does it).
 */
export function testRows(scenarioIds: string[]): void {
  for (const scenario of scenarioIds.map(scenarioById)) {
    for (const mode of scenario.modes) {
      it(`${scenario.title(TEST_SIZES)} (${mode})`, async () => {
        const row = await runRow(scenario, mode, { sizes: TEST_SIZES });
        expect(rowProblems(row)).toEqual([]);
        expect(row.failed).toBe(row.expectedFailures);
        expect(row.bytesSent - row.bytesLost).toBe(row.bytesReceived);
      });
    }
  }
}
