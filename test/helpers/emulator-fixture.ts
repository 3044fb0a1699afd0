/*
 * The setup of the emulator's wire-level tests (test/emulator/): before each test a fresh emulator
 * with one target (pacing off) and an echo destination; after it, every wire client the test
 * opened, the emulator and the echo server are closed.
 */
import { afterEach, beforeEach } from 'vitest';
import { startEmulator, type Emulator, type EmulatorTargetConfig, type FaultSettings } from '../../src/emulator/index.js';
import { encodeSmuxFrame, SmuxCommand } from '../../src/protocol/index.js';
import { echoServer, type Destination } from './destinations.js';
import { startSession, WireClient, type StartedSession, type WireClientOptions } from './emulator-wire-client.js';

export const FIXTURE_TARGET = 'i-0123456789abcdef0';

export interface OpenOptions extends WireClientOptions {
  /** The destination port; default: the echo server's. */
  port?: number;
  /** Faults of the session, set before its data channel opens. */
  faults?: FaultSettings;
}

export interface EmulatorFixture {
  /** This test's emulator. */
  readonly emulator: Emulator;
  /** This test's echo destination. */
  readonly echo: Destination;
  /** Starts a session to FIXTURE_TARGET and opens its data channel with a wire client. */
  open(options?: OpenOptions): Promise<{ client: WireClient; session: StartedSession }>;
  /** Opens the data channel of a session the test started itself; the client is closed after the test. */
  connect(session: { streamUrl: string; tokenValue: string }, options?: WireClientOptions): Promise<WireClient>;
  /** Replaces this test's emulator with one whose target has `config`. */
  restartEmulator(config: EmulatorTargetConfig): Promise<void>;
}

/** Call once at the top of a describe block; the fields are this test's, fresh for each test. */
export function useEmulatorFixture(): EmulatorFixture {
  let emulator: Emulator | undefined;
  let echo: Destination | undefined;
  const clients: WireClient[] = [];
  const current = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the emulator fixture has no ${what} outside a test`);
    return value;
  };

  const start = (config: EmulatorTargetConfig): Promise<Emulator> => startEmulator({ targets: { [FIXTURE_TARGET]: config }, pacing: false });

  beforeEach(async () => {
    echo = await echoServer();
    emulator = await start({});
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await emulator?.close();
    await echo?.close();
    emulator = undefined;
    echo = undefined;
  });

  const fixture: EmulatorFixture = {
    get emulator() {
      return current(emulator, 'emulator');
    },
    get echo() {
      return current(echo, 'echo server');
    },
    async open({ port, faults, ...clientOptions } = {}) {
      const session = await startSession(fixture.emulator, { target: FIXTURE_TARGET, portNumber: port ?? fixture.echo.port });
      if (faults !== undefined) fixture.emulator.session(session.sessionId).setFaults(faults);
      return { client: await fixture.connect(session, clientOptions), session };
    },
    async connect(session, options) {
      const client = await WireClient.open(session, options);
      clients.push(client);
      return client;
    },
    async restartEmulator(config) {
      await fixture.emulator.close();
      emulator = undefined;
      emulator = await start(config);
    },
  };
  return fixture;
}

/** One smux frame (no payload unless given). */
export function smuxFrame(cmd: SmuxCommand, streamId: number, data: Buffer = Buffer.alloc(0)): Buffer {
  return encodeSmuxFrame({ cmd, streamId, data });
}

/** PSH frames of at most 32768 bytes each, as an smux sender splits a write (docs/forwarding.md §3.4). */
export function pshFrames(streamId: number, data: Buffer): Buffer {
  const frames: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += 32_768) frames.push(smuxFrame(SmuxCommand.PSH, streamId, data.subarray(offset, offset + 32_768)));
  return Buffer.concat(frames);
}
