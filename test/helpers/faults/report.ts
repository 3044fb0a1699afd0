import { cpus, freemem, release, totalmem, type } from 'node:os';
import type { FuzzFigures } from './fuzz.js';
import { rowProblems } from './row-check.js';
import type { RowFigures } from './row-runner.js';
import type { FaultScenario, FaultSizes } from './scenario.js';
import { formatMs } from './scenarios.js';

/* The soak's report: the fault matrix as markdown, printed and written to docs/reliability.md. */

export interface SoakReport {
  rows: RowFigures[];
  fuzz: FuzzFigures[];
  scenarios: readonly FaultScenario[];
  sizes: FaultSizes;
  fuzzRuns: number;
  date: Date;
  durationMs: number;
  commandLine: string;
}

const MIB = 1024 * 1024;

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

function bytes(count: number): string {
  return count >= MIB ? mib(count) : `${count} B`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

function recovery(values: number[]): string {
  if (values.length === 0) return '—';
  return `${median(values)} / ${Math.max(...values)} ms`;
}

function change(before: number, after: number): string {
  const delta = after - before;
  return `${mib(before)} → ${mib(after)} (${delta >= 0 ? '+' : '−'}${mib(Math.abs(delta)).replace(' MiB', '')})`;
}

export function describeMachine(): string {
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM (${(freemem() / 1024 ** 3).toFixed(1)} GiB free at the end), ${type()} ${release()}, Node ${process.version}`;
}

function matrixTable(rows: RowFigures[]): string[] {
  const lines = [
    '| Fault | Mode | Connections | Failed / expected | Sent | Received | Corrupted | Lost (on failed) | Recovery median / max | Resumes / new sessions | Client heap before → after | Client RSS before → after | Result |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of rows) {
    const problems = rowProblems(row);
    lines.push(
      [
        row.title,
        row.mode,
        row.connections,
        `${row.failed} / ${row.expectedFailures}`,
        mib(row.bytesSent),
        mib(row.bytesReceived),
        row.bytesCorrupted,
        bytes(row.bytesLost),
        recovery(row.recoveryMs),
        `${row.resumes} / ${row.reconnects}`,
        change(row.memoryBefore.heapUsed, row.memoryAfter.heapUsed),
        change(row.memoryBefore.rss, row.memoryAfter.rss),
        problems.length === 0 ? 'pass' : `**FAIL**: ${problems.join('; ').replaceAll('|', '/')}`,
      ].join(' | ').replace(/^/, '| ').concat(' |'),
    );
  }
  return lines;
}

function fuzzTable(fuzz: FuzzFigures[]): string[] {
  const lines = ['| Target | Cases | Frames fed | Rejected as malformed | Peak held / cap | Result |', '|---|---:|---:|---:|---:|---|'];
  for (const f of fuzz) {
    const held = f.cap === 0 ? '—' : `${f.peakHeld} / ${f.cap}`;
    lines.push(`| ${f.name} | ${f.runs} | ${f.frames} | ${f.rejected} | ${held} | ${f.failure === undefined ? 'pass' : `**FAIL**: ${f.failure.split('\n')[0]}`} |`);
  }
  return lines;
}

/** One line per effect: scenarios in a row that do the same to a user (the shares of one message fault) share it. */
function impactList(scenarios: readonly FaultScenario[], sizes: FaultSizes): string[] {
  const groups: { titles: string[]; modes: string; impact: string }[] = [];
  for (const scenario of scenarios) {
    const modes = scenario.modes.join(', ');
    const last = groups.at(-1);
    if (last !== undefined && last.impact === scenario.userImpact && last.modes === modes) last.titles.push(scenario.title(sizes));
    else groups.push({ titles: [scenario.title(sizes)], modes, impact: scenario.userImpact });
  }
  return groups.map(({ titles, modes, impact }) => `- **${titles.join('; ')}** (${modes}): ${impact}`);
}

/** Rows and fuzz targets that failed, for the exit code. */
export function failures(report: Pick<SoakReport, 'rows' | 'fuzz'>): string[] {
  return [
    ...report.rows.flatMap((row) => rowProblems(row).map((problem) => `${row.title} (${row.mode}): ${problem}`)),
    ...report.fuzz.flatMap((f) => (f.failure === undefined ? [] : [`fuzz ${f.name}: ${f.failure}`])),
  ];
}

export function renderReport(report: SoakReport): string {
  const { sizes } = report;
  const corrupted = report.rows.reduce((sum, row) => sum + row.bytesCorrupted, 0);
  const failed = failures(report);
  const lines = [
    '# Reliability: what ssm-tunnel does when things go wrong',
    '',
    'Every fault below is injected into a running tunnel with checked transfers in flight, through the',
    "emulator's fault knobs (docs/emulator.md), and the data is checked byte by byte at both ends. The",
    'small-size version of each row runs in `npm test` (test/reliability/); this page is the output of',
    '`npm run soak`, which runs the same scenarios (test/helpers/faults/scenarios.ts) at larger sizes, with the',
    'client in a process of its own so that its memory figures are its own.',
    '',
    `- Run: ${report.date.toISOString()}, \`${report.commandLine}\`, ${(report.durationMs / 60_000).toFixed(1)} minutes`,
    `- Machine: ${describeMachine()}`,
    `- Sizes: ${mib(sizes.transferBytes)} each way per transfer, ${sizes.parallel} transfers at once in mux mode (one in basic mode), ${sizes.repetitions} repetitions per row after a warm-up; faults with a duration last ${formatMs(sizes.faultMs)}; emulator pacing off`,
    `- Outcome: ${corrupted} corrupted bytes in total; ${failed.length === 0 ? 'every row passed' : `${failed.length} problems (listed in the rows)`}`,
    '',
    '## The matrix',
    '',
    'Columns: **Connections**, the checked connections of all repetitions (recovery probes not',
    'included); **Failed / expected**, connections that did not complete against those the fault is',
    'meant to break (a connection expected to complete that fails makes the row fail); **Sent** and',
    '**Received**, pattern bytes both ways (what each end handed to its socket, and what the other end',
    'got); **Corrupted**, received bytes that differ from what was sent at their offset, probes',
    'included (must be 0); **Lost**, sent − received on the failed connections; **Recovery**, from the',
    'fault (or its end, for faults that last) to the next successful round trip through the tunnel (in',
    'basic mode that round trip waits behind the connection in progress); **Resumes / new sessions**,',
    'what the client did about it over the row (WebSocket drops survived with ResumeSession, sessions',
    'started after the first); **Client heap / RSS**, the client process after a garbage collection,',
    'after the warm-up and after the last repetition (the heap is the figure that shows a leak; RSS',
    'also moves with what the allocator keeps).',
    '',
    ...matrixTable(report.rows),
    '',
    '## Malformed frames, fuzzed',
    '',
    `fast-check (seeded), ${report.fuzzRuns} cases per target and ${report.fuzzRuns * 20} for the decoder: random bytes and mutations of valid`,
    'frames (flipped bytes, truncated headers, PayloadLength 0xFFFFFFFF, junk after the payload, far',
    'and repeated sequence numbers) fed to the client. Nothing may throw except a ProtocolError from',
    'the decoder, and the reorder buffer and smux receive buffer may not grow past their caps (small',
    'caps here, so that the fuzz reaches them).',
    '',
    ...fuzzTable(report.fuzz),
    '',
    '## What each fault does to a user',
    '',
    ...impactList(report.scenarios, sizes),
    '',
    '## What the suite found',
    '',
    'Each of these failed a row of this matrix, or a test in test/security/, until it was fixed in src/:',
    '',
    '- ResumeSession was retried five times and the session then abandoned, whatever the reconnect',
    '  policy said: a 10 s ResumeSession outage was survived, a 30 s one cut every connection in',
    '  flight. Resume now follows the tunnel\'s reconnect policy (forever, for the daemon), until the',
    '  service says the session is gone.',
    '- Lost messages were sent again only after the retransmission timeout, backed off per attempt, so',
    '  every loss stalled the 1,024-message window: at 20% loss a transfer crawled and a round trip took',
    '  5 s. A message is now sent again as soon as three later ones are acknowledged (TCP\'s duplicate-ack',
    '  rule, with the per-message acknowledgements as SACK): the 20% row went from 202 s to 40 s.',
    '- Basic mode: a local client that reset mid-download left the output held back for it, and the',
    '  agent\'s in-flight window, to the next connection (tens of KB of another connection\'s data).',
    '  The held output is now discarded at the disconnect, and the next connection waits until the',
    '  agent has acknowledged DisconnectToPort and gone quiet. Also, a waiting connection that closed',
    '  used to start the next one beside the current one.',
    '- Mux mode: a local client that went away while its upload was still being flushed left its smux',
    '  stream open for good: the connection stayed counted as open, its unread bytes charged to the',
    '  session\'s receive buffer. The stream is now destroyed once its writes are out.',
    '- The reorder buffer capped messages but not bytes: 4,096 frames of 256 KiB from a hostile server',
    '  would have been held (1 GiB). It now holds 8 MiB at most.',
    '',
    '## Limits a broken or malicious server meets',
    '',
    '- WebSocket messages above 256 KiB close the socket (the agent sends at most 1,144 bytes); the client resumes.',
    '- Out-of-order messages: at most 4,096 held, 8 MiB of payload in all, and none further than 4,096 ahead of the next expected one; the rest are dropped unacknowledged, so the agent sends them again.',
    '- smux: at most 4 MiB delivered to streams and not yet read by local clients; beyond that the client stops acknowledging, and the agent waits.',
    '- A frame that does not decode (bad digest, PayloadLength past the frame, truncated header, unknown type) is logged and dropped; an smux stream that does not parse ends that session, and the tunnel starts another.',
    '- test/security/ covers these against a hostile server on a real socket, and that tokens, keys and signatures never reach logs or errors.',
    '',
  ];
  return `${lines.join('\n')}`;
}
