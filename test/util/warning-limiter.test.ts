import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WARNING_INTERVAL_MS, WarningLimiter } from '../../src/util/warning-limiter.js';

describe('WarningLimiter', () => {
  let lines: { fields: object; message: string }[];
  let limiter: WarningLimiter;

  beforeEach(() => {
    vi.useFakeTimers();
    lines = [];
    limiter = new WarningLimiter({ warn: (fields, message) => lines.push({ fields, message }) });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs the first warning of a kind, then counts the repeats into the next line after the interval', () => {
    for (let i = 0; i < 1000; i++) limiter.warn({ frame: i }, 'dropped a frame');
    expect(lines).toEqual([{ fields: { frame: 0 }, message: 'dropped a frame' }]);
    vi.advanceTimersByTime(WARNING_INTERVAL_MS);
    limiter.warn({ frame: 1000 }, 'dropped a frame');
    expect(lines[1]).toEqual({ fields: { frame: 1000, suppressed: 999 }, message: 'dropped a frame' });
  });

  it('limits each kind on its own', () => {
    limiter.warn({}, 'one kind');
    limiter.warn({}, 'another kind');
    limiter.warn({}, 'one kind');
    expect(lines.map((line) => line.message)).toEqual(['one kind', 'another kind']);
  });
});
