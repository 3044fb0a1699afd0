import { describe, expect, it } from 'vitest';
import { CheckedDestination } from '../helpers/faults/checked-destination.js';
import { CheckedTransfer } from '../helpers/faults/checked-transfer.js';
import { openTunnel } from '../../src/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import { waitFor } from '../helpers/wait.js';
import { testRows } from './rows.js';

const TARGET = 'i-0123456789abcdef0';

describe('fault matrix at small size: the data channel', () => {
  testRows(['ws-close-every', 'ws-close-handshake', 'resume-failing', 'pause-publication', 'malformed-frames']);
});

describe('resume follows the reconnect policy', () => {
  it('keeps a connection through more failed ResumeSession calls than a fixed five retries would survive', async () => {
    const destination = await CheckedDestination.start();
    const emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
    const tunnel = await openTunnel({
      target: TARGET,
      remoteHost: '127.0.0.1',
      remotePort: destination.port,
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: emulator.credentials,
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    try {
      const sessionId = tunnel.sessionId!;
      const transfer = new CheckedTransfer({ connectionId: 1, port: tunnel.localPort, upload: 1 << 20, download: 1 << 20, stallTimeoutMs: 30_000 });
      await waitFor(() => transfer.received > 0, 'the transfer to start');
      // Five retries of three SDK attempts each were 18 calls: more fail here.
      const rejected = 25;
      emulator.rejectNextResumeSessions(rejected);
      emulator.session(sessionId).dropConnection();
      const outcome = await transfer.outcome;
      expect(outcome).toMatchObject({ completed: true, downloadCorrupted: 0 });
      expect(destination.record(1)).toMatchObject({ uploadReceived: 1 << 20, uploadCorrupted: 0 });
      expect(tunnel.sessionId).toBe(sessionId);
      const failedResumes = emulator.record.apiCalls.filter((call) => call.operation === 'ResumeSession' && call.error !== undefined);
      expect(failedResumes).toHaveLength(rejected);
    } finally {
      await tunnel.close();
      await emulator.close();
      await destination.close();
    }
  });
});
