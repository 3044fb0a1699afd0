/*
 * Knob pairs that cannot work are refused where they are set, so no session's port plugin ever
 * fails to start on them (which used to be an unhandled rejection inside the agent).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { startSession } from '../helpers/emulator-wire-client.js';

const TARGET = 'i-0123456789abcdef0';

describe('agent knobs', () => {
  let emulator: Emulator | undefined;

  afterEach(async () => {
    await emulator?.close();
    emulator = undefined;
  });

  it('refuses a target whose smux keepalive timeout is shorter than the interval it meets', async () => {
    await expect(startEmulator({ targets: { [TARGET]: { agent: { smuxKeepAliveTimeoutMs: 1000 } } } })).rejects.toThrow(
      /smuxKeepAliveTimeoutMs \(1000\) must not be shorter than smuxKeepAliveIntervalMs \(10000\)/,
    );
  });

  it('refuses emulator-wide and per-session keepalive pairs that cannot work, and keeps the knobs it had', async () => {
    emulator = await startEmulator({ targets: { [TARGET]: {} } });
    expect(() => emulator!.setKnobs({ smuxKeepAliveIntervalMs: 60_000 })).toThrow(/smuxKeepAliveTimeoutMs/);
    expect(emulator.agentKnobs.smuxKeepAliveIntervalMs).toBe(10_000);
    const session = await startSession(emulator, { target: TARGET, portNumber: 22 });
    expect(() => emulator!.session(session.sessionId).setKnobs({ smuxKeepAliveTimeoutMs: 5 })).toThrow(/smuxKeepAliveTimeoutMs \(5\)/);
    expect(() => emulator!.session(session.sessionId).setKnobs({ smuxKeepAliveIntervalMs: 5, smuxKeepAliveTimeoutMs: 5 })).not.toThrow();
  });

  it('refuses a negative handshake delay', async () => {
    await expect(startEmulator({ targets: { [TARGET]: { agent: { handshakeDelayMs: -1 } } } })).rejects.toThrow(/handshakeDelayMs/);
  });
});
