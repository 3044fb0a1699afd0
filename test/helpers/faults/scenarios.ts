import { createSsmSessionApi } from '../../../src/index.js';
import { MALFORMED_FRAME_KINDS, type Emulator, type FaultSettings } from '../../../src/emulator/index.js';
import type { CheckedTransfer } from './checked-transfer.js';
import type { FaultScenario, PortMode, ScenarioContext } from './scenario.js';
import { DestinationBehaviour } from './transfer-header.js';

/*
 * The fault matrix: every fault the suite injects, as one definition shared by `npm test` (small
 * sizes) and `npm run soak` (large sizes).
 */

const BOTH: readonly PortMode[] = ['mux', 'basic'];
const MUX_ONLY: readonly PortMode[] = ['mux'];
/** What a stalled destination may leave buffered: under the agent's 4 MiB smux receive buffer. */
const MAX_STALLED_UPLOAD = 2 * 1024 * 1024;
const IDLE_CONNECTION_BYTES = 16 * 1024;
const HELD_DOWNLOAD = 64 * 1024 * 1024;
/** More than a local socket's receive buffer: the tunnel is holding output back by then. */
const BACKED_UP_BYTES = 4 * 1024 * 1024;

export function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function quarter(ctx: ScenarioContext): number {
  return Math.max(1, Math.floor(ctx.sizes.transferBytes / 4));
}

/** Waits until every transfer moved an eighth of its download (or finished), so a fault hits it mid-stream. */
async function underway(ctx: ScenarioContext, transfers: CheckedTransfer[]): Promise<void> {
  const mark = Math.floor(ctx.sizes.transferBytes / 8);
  await ctx.waitFor(() => transfers.every((t) => t.finished || t.received >= mark), 'the transfers to be under way');
}

/** Latest time a fault whose name starts with `prefix` acted on any session other than `except`, after `since`. */
function faultSince(emulator: Emulator, prefix: string, since: number, except?: string): number | undefined {
  let latest: number | undefined;
  for (const session of emulator.record.sessions) {
    if (session.sessionId === except) continue;
    for (const { fault, at } of session.faults) {
      const time = new Date(at).getTime();
      if (fault.startsWith(prefix) && time >= since && (latest === undefined || time > latest)) latest = time;
    }
  }
  return latest;
}

/**
 * One transfer kept in flight for faults that end the session: it stops reading at a quarter, and
 * its download is larger than every buffer on the way (sockets, smux, the window), so it cannot
 * have been delivered whole before the fault.
 */
async function heldTransfer(ctx: ScenarioContext): Promise<CheckedTransfer> {
  const held = ctx.transfer({ expect: 'fail', download: Math.max(ctx.sizes.transferBytes, HELD_DOWNLOAD), holdAfter: quarter(ctx) });
  await ctx.waitFor(() => held.holding || held.finished, 'the transfer to be in flight');
  return held;
}

/** Ends the session in some way with a transfer in flight; the next connection needs a new session. */
function sessionEnd(id: string, title: string, userImpact: string, end: (ctx: ScenarioContext, sessionId: string) => Promise<void>): FaultScenario {
  return {
    id,
    title: () => title,
    modes: BOTH,
    emulatorHost: 'in-process',
    userImpact,
    async run(ctx) {
      const sessionId = await ctx.readySessionId();
      const held = await heldTransfer(ctx);
      await end(ctx, sessionId);
      ctx.faultInjected();
      await ctx.awaitRecovery();
      held.release();
    },
  };
}

const wsCloseEvery: FaultScenario = {
  id: 'ws-close-every',
  title: (sizes) => `WebSocket closed every ${formatMs(sizes.closeEveryMs)}`,
  modes: BOTH,
  emulatorHost: 'in-process',
  userImpact: 'None visible: each drop is resumed (ResumeSession, same session) and unacknowledged data is sent again; transfers pause briefly.',
  emulatorOptions: (sizes) => ({ faults: { closeEveryMs: sizes.closeEveryMs } }),
  async run(ctx) {
    await ctx.readySessionId();
    const since = Date.now();
    ctx.transfers();
    let droppedAt: number | undefined;
    await ctx.waitFor(() => (droppedAt = faultSince(ctx.emulator, 'close every', since)) !== undefined, 'the next periodic socket drop');
    ctx.faultInjected(droppedAt);
    await ctx.awaitRecovery();
  },
};

const closedDuringHandshake: FaultScenario = {
  id: 'ws-close-handshake',
  title: () => 'WebSocket closed during the handshake',
  modes: BOTH,
  emulatorHost: 'in-process',
  userImpact: 'None visible: the half-made session is dropped and another started; connections made meanwhile wait for it.',
  async run(ctx) {
    const previous = await ctx.readySessionId();
    const since = Date.now();
    // Every new session's first socket is cut after two messages (HandshakeRequest and its ack).
    ctx.emulator.setFaults({ closeAfter: { messages: 2 } });
    ctx.emulator.session(previous).end('terminated');
    ctx.transfers();
    let cutAt: number | undefined;
    await ctx.waitFor(() => (cutAt = faultSince(ctx.emulator, 'close after 2 messages', since, previous)) !== undefined, 'a socket cut during the handshake');
    ctx.emulator.setFaults({});
    ctx.faultInjected(cutAt);
    await ctx.awaitRecovery();
  },
};

const resumeFailing: FaultScenario = {
  id: 'resume-failing',
  title: (sizes) => `WebSocket closed while ResumeSession fails for ${formatMs(sizes.resumeOutageMs)}`,
  modes: BOTH,
  emulatorHost: 'in-process',
  maxRepetitions: 2,
  userImpact: 'Transfers stall for the outage and then finish intact: resume is retried with the reconnect policy until the service answers.',
  async run(ctx) {
    const sessionId = await ctx.readySessionId();
    const transfers = ctx.transfers();
    await underway(ctx, transfers);
    ctx.emulator.rejectNextResumeSessions(Number.MAX_SAFE_INTEGER);
    ctx.emulator.session(sessionId).dropConnection();
    ctx.faultInjected();
    await ctx.sleep(ctx.sizes.resumeOutageMs);
    ctx.emulator.rejectNextResumeSessions(0);
    ctx.faultEnded();
    await ctx.awaitRecovery();
  },
};

type MessageFault = 'drop' | 'duplicate' | 'reorder' | 'delay';
const DELAY_MS = 200;
const MESSAGE_FAULT_IMPACT: Record<MessageFault, string> = {
  drop: 'Transfers slow down while lost messages are sent again (as soon as later ones are acknowledged, else after the timeout); nothing is lost or corrupted.',
  duplicate: 'None visible: duplicates are acknowledged again and discarded.',
  reorder: 'None visible: messages that arrive early are held and put back in order.',
  delay: 'Transfers slow down: a delayed message holds up the ones behind it (they are delivered in order); nothing is lost or corrupted.',
};

function messageFault(kind: MessageFault, percent: number): FaultScenario {
  const share = percent / 100;
  const titles: Record<MessageFault, string> = {
    drop: `${percent}% of messages dropped`,
    duplicate: `${percent}% of messages duplicated`,
    reorder: `${percent}% of messages reordered`,
    delay: `${percent}% of messages delayed ${DELAY_MS} ms`,
  };
  return {
    id: `${kind}-${percent}`,
    title: () => titles[kind],
    modes: BOTH,
    emulatorHost: 'in-process',
    userImpact: MESSAGE_FAULT_IMPACT[kind],
    async run(ctx) {
      await ctx.readySessionId();
      ctx.transfers();
      const faults: FaultSettings = { seed: 7, [kind]: { fromClient: share, toClient: share }, ...(kind === 'delay' ? { delayMs: DELAY_MS } : {}) };
      ctx.emulator.setFaults(faults);
      ctx.faultInjected();
      try {
        await ctx.awaitRecovery();
        await ctx.settled();
      } finally {
        ctx.emulator.setFaults({});
      }
    },
  };
}

const pausePublication: FaultScenario = {
  id: 'pause-publication',
  title: (sizes) => `pause_publication for ${formatMs(sizes.faultMs)} mid-transfer`,
  modes: BOTH,
  emulatorHost: 'in-process',
  userImpact: 'Transfers stop for the pause and then finish intact; the client holds its output meanwhile.',
  async run(ctx) {
    const sessionId = await ctx.readySessionId();
    const transfers = ctx.transfers();
    await underway(ctx, transfers);
    const session = ctx.emulator.session(sessionId);
    session.pausePublication();
    ctx.faultInjected();
    await ctx.sleep(ctx.sizes.faultMs);
    session.startPublication();
    ctx.faultEnded();
    await ctx.awaitRecovery();
  },
};

const idleTimeout: FaultScenario = {
  id: 'idle-timeout',
  title: () => 'Session ended by the server: idle timeout',
  modes: BOTH,
  emulatorHost: 'in-process',
  userImpact: 'Connections open at the time are closed (the service ended the session); a new session serves the next connection.',
  async run(ctx) {
    const sessionId = await ctx.readySessionId();
    // An open connection on which nothing moves, as a database connection between queries.
    const idle = ctx.transfer({ expect: 'fail', behaviour: DestinationBehaviour.stall, upload: IDLE_CONNECTION_BYTES, download: IDLE_CONNECTION_BYTES });
    await ctx.waitFor(() => ctx.destination.record(idle.connectionId) !== undefined, 'the idle connection to reach its destination');
    ctx.emulator.session(sessionId).setKnobs({ idleTimeoutMs: 200 });
    await ctx.waitFor(() => ctx.emulator.sessionRecord(sessionId)?.state === 'timed-out', 'the session to time out');
    ctx.faultInjected();
    await ctx.awaitRecovery();
    ctx.destination.releaseStalled();
  },
};

const maxDuration = sessionEnd(
  'max-duration',
  'Session ended by the server: maximum duration',
  'Connections in flight are cut (the service ended the session); a new session serves the next connection.',
  (ctx, sessionId) => {
    ctx.emulator.session(sessionId).setKnobs({ maxSessionDurationMs: 1 });
    return ctx.waitFor(() => ctx.emulator.sessionRecord(sessionId)?.state === 'timed-out', 'the session to reach its maximum duration');
  },
);

const terminatedElsewhere = sessionEnd(
  'terminate-elsewhere',
  'Session ended by the server: TerminateSession from elsewhere',
  'Connections in flight are cut; a new session serves the next connection.',
  async (ctx, sessionId) => {
    const { endpoint, region, credentials } = ctx.emulator;
    const api = createSsmSessionApi({ endpoint, region, credentials: { ...credentials } });
    await api.terminateSession(sessionId);
  },
);

const destinationRefuses: FaultScenario = {
  id: 'destination-refuses',
  title: () => 'Destination refuses connections',
  modes: BOTH,
  emulatorHost: 'in-process',
  userImpact:
    'Mux: new connections fail at once (ConnectToPortError), open ones carry on. Basic: the agent fails the session on a refused dial, so the tunnel restarts sessions until the destination is back.',
  async run(ctx) {
    await ctx.readySessionId();
    const inFlight = ctx.transfers();
    await underway(ctx, inFlight);
    ctx.emulator.setFaults({ refuseDestinations: [`127.0.0.1:${ctx.destination.port}`] });
    ctx.faultInjected();
    const refused = ctx.transfer({ expect: 'fail', upload: 1024, download: 1024 });
    await refused.outcome;
    await ctx.sleep(ctx.sizes.faultMs);
    ctx.emulator.setFaults({});
    ctx.faultEnded();
    await ctx.awaitRecovery();
  },
};

const destinationCloses: FaultScenario = {
  id: 'destination-closes',
  title: () => 'Destination closes mid-stream',
  modes: MUX_ONLY,
  emulatorHost: 'in-process',
  userImpact: 'That connection ends after exactly the bytes the destination sent; other connections are untouched. (Basic mode cannot tell the client: the agent redials on the next write.)',
  async run(ctx) {
    await ctx.readySessionId();
    ctx.transfers();
    const closing = ctx.transfer({ expect: 'fail', behaviour: DestinationBehaviour.closeMidStream, param: Math.floor(ctx.sizes.transferBytes / 2) });
    await closing.outcome;
    ctx.faultInjected();
    await ctx.awaitRecovery();
  },
};

const destinationStalls: FaultScenario = {
  id: 'destination-stalls',
  title: () => 'Destination stops reading while other streams carry on',
  modes: MUX_ONLY,
  emulatorHost: 'in-process',
  userImpact: 'Only that connection waits; other connections and new ones go on. It finishes intact once the destination reads again.',
  async run(ctx) {
    await ctx.readySessionId();
    const stalledBytes = Math.min(ctx.sizes.transferBytes, MAX_STALLED_UPLOAD);
    const stalled = ctx.transfer({
      expect: 'complete',
      behaviour: DestinationBehaviour.stall,
      upload: stalledBytes,
      download: stalledBytes,
      stallTimeoutMs: 8 * ctx.sizes.stallTimeoutMs,
    });
    await ctx.waitFor(() => ctx.destination.record(stalled.connectionId) !== undefined, 'the stalled connection to reach its destination');
    ctx.faultInjected();
    const others = ctx.transfers();
    await ctx.awaitRecovery();
    // Released only once the others are done: they must not need the stalled one to move.
    await Promise.all(others.map((t) => t.outcome));
    ctx.destination.releaseStalled();
  },
};

const clientResets: FaultScenario = {
  id: 'client-reset',
  title: () => 'Local client aborts mid-stream (RST)',
  modes: BOTH,
  emulatorHost: 'in-process',
  userImpact: 'Only that connection ends (its destination connection is closed); the session and other connections go on.',
  async run(ctx) {
    await ctx.readySessionId();
    ctx.transfers();
    // One client aborts while reading at full speed.
    const reading = ctx.transfer({ expect: 'fail', resetAfter: quarter(ctx) });
    await reading.outcome;
    // Another stopped reading first, so that the tunnel holds output back for it when it aborts.
    const stalled = ctx.transfer({ expect: 'fail', download: Math.max(ctx.sizes.transferBytes, HELD_DOWNLOAD), holdAfter: quarter(ctx) });
    await ctx.waitFor(
      () => (ctx.destination.record(stalled.connectionId)?.downloadSent ?? 0) >= stalled.received + BACKED_UP_BYTES,
      'output to back up behind the client that stopped reading',
    );
    stalled.reset();
    await stalled.outcome;
    ctx.faultInjected();
    await ctx.awaitRecovery();
  },
};

const emulatorRestart: FaultScenario = {
  id: 'emulator-restart',
  title: (sizes) => `Emulator process killed, restarted after ${formatMs(sizes.faultMs)}`,
  modes: BOTH,
  emulatorHost: 'process',
  userImpact: 'Connections in flight fail (the service forgot the session); the tunnel starts a new session and serves new connections.',
  async run(ctx) {
    await ctx.readySessionId();
    const held = await heldTransfer(ctx);
    await ctx.emulatorProcess.kill();
    ctx.faultInjected();
    await ctx.sleep(ctx.sizes.faultMs);
    await ctx.emulatorProcess.restart();
    ctx.faultEnded();
    await ctx.awaitRecovery();
    held.release();
  },
};

const malformedFrames: FaultScenario = {
  id: 'malformed-frames',
  title: () => `Malformed frames from the server (${MALFORMED_FRAME_KINDS.join(', ')})`,
  modes: BOTH,
  emulatorHost: 'in-process',
  userImpact: 'None visible: each bad frame is logged and dropped; the session and its connections go on.',
  async run(ctx) {
    const sessionId = await ctx.readySessionId();
    const transfers = ctx.transfers();
    await underway(ctx, transfers);
    for (const kind of MALFORMED_FRAME_KINDS) ctx.emulator.session(sessionId).sendMalformedFrame(kind);
    ctx.faultInjected();
    await ctx.awaitRecovery();
  },
};

export const MESSAGE_FAULT_PERCENTS = [1, 5, 20] as const;

export const FAULT_SCENARIOS: readonly FaultScenario[] = [
  wsCloseEvery,
  closedDuringHandshake,
  resumeFailing,
  ...(['drop', 'duplicate', 'reorder', 'delay'] as const).flatMap((kind) => MESSAGE_FAULT_PERCENTS.map((percent) => messageFault(kind, percent))),
  pausePublication,
  idleTimeout,
  maxDuration,
  terminatedElsewhere,
  destinationRefuses,
  destinationCloses,
  destinationStalls,
  clientResets,
  emulatorRestart,
  malformedFrames,
];

export function scenarioById(id: string): FaultScenario {
  const scenario = FAULT_SCENARIOS.find((s) => s.id === id);
  if (scenario === undefined) throw new Error(`no fault scenario ${JSON.stringify(id)}; known: ${FAULT_SCENARIOS.map((s) => s.id).join(', ')}`);
  return scenario;
}
