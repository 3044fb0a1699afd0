import { describe, expect, it } from 'vitest';
import { formatNodeTable } from '../../src/cli/node-list.js';
import { formatBytes, formatDuration } from '../../src/cli/terminal-view.js';
import { shellCommand } from '../../src/cli/target-picker.js';

describe('what the terminal output shows', () => {
  it('writes byte counts and rates in binary units, whole bytes below 1 KiB', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(4.995)).toBe('5 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(100 * 1024)).toBe('100.0 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });

  it('writes durations from milliseconds to hours', () => {
    expect(formatDuration(96)).toBe('96ms');
    expect(formatDuration(4200)).toBe('4.2s');
    expect(formatDuration(185_000)).toBe('3m05s');
    expect(formatDuration(7_380_000)).toBe('2h03m');
  });

  it('pads the targets table to its widest cells and marks what is unknown with a dash', () => {
    const table = formatNodeTable([
      { id: 'i-01', name: 'web', pingStatus: 'Online', platformName: 'Ubuntu 24.04', agentVersion: '3.3.1142.0', supportsMux: true, lastPingAt: '2026-12-01T10:00:00.000Z' },
      { id: 'mi-0002', pingStatus: 'Inactive' },
    ]);
    expect(table.split('\n')).toEqual([
      'ID       NAME  PLATFORM      PING      AGENT       MUX  LAST PING',
      'i-01     web   Ubuntu 24.04  Online    3.3.1142.0  yes  2026-12-01 10:00:00Z',
      'mi-0002  -     -             Inactive  -           -    -',
    ]);
  });

  it('prints a picked command line that a shell reads back as the same words', () => {
    expect(shellCommand(['ssm-tunnel', 'open', '--target', 'i-01', '--remote-host', 'db.internal'])).toBe('ssm-tunnel open --target i-01 --remote-host db.internal');
    expect(shellCommand(['ssm-tunnel', 'open', '--tag', "Team=it's ours"])).toBe(`ssm-tunnel open --tag 'Team=it'\\''s ours'`);
  });
});
