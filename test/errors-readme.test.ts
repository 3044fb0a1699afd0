/*
 * The README's error and exit-status tables are the user's reference: they must list every code
 * the source defines, with the retryability the code really has.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../src/cli/exit-codes.js';
import { ErrorCode, isRetryableCode } from '../src/errors.js';

const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');

/** The rows of the markdown table that follows `marker`. */
function tableAfter(marker: string): string[][] {
  const start = readme.indexOf(marker);
  expect(start, `README has no ${marker}`).toBeGreaterThanOrEqual(0);
  const lines = readme.slice(start).split('\n').slice(1);
  const rows: string[][] = [];
  for (const line of lines.slice(2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((cell) => cell.trim()));
  }
  return rows;
}

describe('the README', () => {
  it('lists every ErrorCode once, with its retryability', () => {
    const rows = tableAfter('<!-- error-codes:');
    const listed = rows.map(([code]) => code!.replaceAll('`', ''));
    expect([...listed].sort()).toEqual(Object.values(ErrorCode).sort());
    for (const [code, retryable] of rows) expect(retryable, code).toBe(isRetryableCode(code!.replaceAll('`', '')) ? 'yes' : 'no');
  });

  it('lists every CLI exit status', () => {
    const statuses = tableAfter('<!-- exit-codes:').flatMap(([status]) => status!.split(',').map((s) => Number(s.trim())));
    for (const code of Object.values(ExitCode)) expect(statuses).toContain(code);
  });
});
