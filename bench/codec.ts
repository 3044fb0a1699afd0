import { randomBytes, randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import {
  decodeClientMessage,
  encodeClientMessage,
  encodeSmuxFrame,
  MessageType,
  PayloadType,
  SMUX_MAX_FRAME_SIZE,
  SmuxCommand,
  SmuxFrameParser,
} from '../src/protocol/index.js';
import type { ClientMessage } from '../src/protocol/index.js';

/*
 * Codec micro-benchmark: how many 1 KiB data messages one core can encode and decode (SHA-256
 * both ways, a fresh UUID per message), and how fast the smux parser reassembles a byte stream
 * that arrives in Output-message-sized chunks.
 */

/** Port data travels in messages of at most 1024 payload bytes (docs/protocol.md §7.2). */
const PAYLOAD_SIZE = 1024;
const WARMUP_MS = 300;
const ROUNDS = 7;
const ROUND_MS = 250;
/** Target for encode + decode of a 1 KiB message on one core. */
const TARGET_MESSAGES_PER_SECOND = 200_000;

interface Row {
  operation: string;
  messagesPerSecond: number;
  megabytesPerSecond: number;
}

/**
 * Calls `run` (worth `messagesPerRun` messages) in groups of `runsPerCheck` until `durationMs`
 * has passed; returns messages per second. `sink` keeps results alive so nothing is optimised away.
 */
function rate(run: () => number, messagesPerRun: number, runsPerCheck: number, durationMs: number): { perSecond: number; sink: number } {
  let sink = 0;
  let messages = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(durationMs) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < runsPerCheck; i++) sink += run();
    messages += messagesPerRun * runsPerCheck;
    now = process.hrtime.bigint();
  }
  return { perSecond: messages / (Number(now - start) / 1e9), sink };
}

/** The best of several short rounds: other load on the machine only ever makes a round slower. */
function measure(operation: string, bytesPerMessage: number, messagesPerRun: number, runsPerCheck: number, run: () => number): Row {
  rate(run, messagesPerRun, runsPerCheck, WARMUP_MS);
  let best = 0;
  let sink = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const result = rate(run, messagesPerRun, runsPerCheck, ROUND_MS);
    best = Math.max(best, result.perSecond);
    sink += result.sink;
  }
  if (sink === 0) throw new Error(`${operation}: the benchmark produced no output`);
  return { operation, messagesPerSecond: best, megabytesPerSecond: (best * bytesPerMessage) / 1e6 };
}

function dataMessage(sequenceNumber: number, payload: Buffer): ClientMessage {
  return {
    messageType: MessageType.InputStreamData,
    schemaVersion: 1,
    createdDate: Date.now(),
    sequenceNumber,
    flags: 0,
    messageId: randomUUID(),
    payloadType: PayloadType.Output,
    payload,
  };
}

function codecRows(): Row[] {
  const payload = randomBytes(PAYLOAD_SIZE);
  const frames = Array.from({ length: 256 }, (_, i) => encodeClientMessage(dataMessage(i, payload)));
  let sequenceNumber = 0;

  const encode = measure('encode 1 KiB input_stream_data', PAYLOAD_SIZE, 1, 100, () => encodeClientMessage(dataMessage(sequenceNumber++, payload)).length);
  let next = 0;
  const decode = measure('decode 1 KiB input_stream_data', PAYLOAD_SIZE, 1, 100, () => {
    next = (next + 1) & 255;
    return decodeClientMessage(frames[next]!).payload.length;
  });
  const roundTrip = measure('encode + decode 1 KiB', PAYLOAD_SIZE, 1, 100, () => decodeClientMessage(encodeClientMessage(dataMessage(sequenceNumber++, payload))).payload.length);
  return [encode, decode, roundTrip];
}

/** A stream of smux frames cut into `chunkSize` pieces, as the Output messages carrying it would be. */
function smuxChunks(frameSize: number, frameCount: number, chunkSize: number): Buffer[] {
  const data = randomBytes(frameSize);
  const stream = Buffer.concat(Array.from({ length: frameCount }, (_, i) => encodeSmuxFrame({ cmd: SmuxCommand.PSH, streamId: 3 + 2 * (i % 4), data })));
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < stream.length; offset += chunkSize) chunks.push(stream.subarray(offset, offset + chunkSize));
  return chunks;
}

function smuxRow(operation: string, chunks: Buffer[]): Row {
  const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  return measure(operation, bytes / chunks.length, chunks.length, 1, () => {
    const parser = new SmuxFrameParser();
    let delivered = 0;
    for (const chunk of chunks) for (const frame of parser.push(chunk)) delivered += frame.data.length;
    return delivered;
  });
}

function smuxRows(): Row[] {
  return [
    smuxRow('smux parse: 32 KiB PSH frames in 1 KiB messages', smuxChunks(SMUX_MAX_FRAME_SIZE, 32, PAYLOAD_SIZE)),
    smuxRow('smux parse: 1 KiB PSH frames in 1 KiB messages', smuxChunks(PAYLOAD_SIZE, 1024, PAYLOAD_SIZE)),
    smuxRow('smux parse: 8-byte PSH frames, 16 per message', smuxChunks(8, 4096, 16 * 16)),
  ];
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

function table(rows: Row[]): string {
  const lines = ['| operation | messages/s | MB/s |', '|---|---:|---:|'];
  for (const row of rows) lines.push(`| ${row.operation} | ${integer.format(row.messagesPerSecond)} | ${decimal.format(row.megabytesPerSecond)} |`);
  return lines.join('\n');
}

/** Runs the codec rows and returns them as markdown: the table, what a message is, and the verdict. */
export function runCodecBenchmark(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const rows = [...codecRows(), ...smuxRows()];
  const roundTrip = rows[2]!;
  const verdict = roundTrip.messagesPerSecond >= TARGET_MESSAGES_PER_SECOND ? 'meets' : 'is BELOW';
  return [
    `Node ${process.version}, ${cpu}, one core; best of ${ROUNDS} rounds of ${ROUND_MS} ms per row, after ${WARMUP_MS} ms warm-up.`,
    '',
    table(rows),
    '',
    'For the smux rows a message is one Output payload fed to the parser; MB/s counts smux bytes.',
    '',
    `encode + decode ${verdict} the target of ${integer.format(TARGET_MESSAGES_PER_SECOND)} messages/s.`,
  ].join('\n');
}
