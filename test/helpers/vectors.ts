import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Loader for the golden transcripts of the official client (test/fixtures/README.md), resolved from
 * this file's own location so the tests find them from any working directory.
 */

export const VECTORS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export const TRANSCRIPT_NAMES = ['basic-session', 'mux-session', 'refused', 'resume'] as const;
export type TranscriptName = (typeof TRANSCRIPT_NAMES)[number];

export type Direction = 'client->service' | 'service->client';

/** One smux v1 frame as annotated by the recorder (`len` and `sid` already little-endian decoded). */
export interface SmuxAnnotation {
  ver: number;
  cmd: number;
  cmd_name: string;
  len: number;
  sid: number;
  data_hex: string;
  spans_seqs?: number[];
  bytes_in_this_message?: number;
  continuation_of_frame_from_seq?: number;
}

/** The recorder's independent decoding of one ClientMessage (docs/protocol.md §2). */
export interface DecodedClientMessageAnnotation {
  headerLength: number;
  messageType: string;
  messageTypePadding: string;
  schemaVersion: number;
  createdDate: number;
  createdDateIso: string;
  sequenceNumber: number;
  flags: number;
  messageId: string;
  payloadDigest: string;
  digestOk: boolean;
  payloadType: number;
  payloadTypeName: string;
  payloadLength: number;
  payloadEncoding: 'utf8' | 'hex';
  payload: string;
  flag?: { value: number; name: string };
  masked: boolean;
  retransmission?: boolean;
  smux?: SmuxAnnotation[];
}

interface EventBase {
  t_ms: number;
  dir: Direction;
  conn: number;
}

export interface BinaryEvent extends EventBase {
  kind: 'ws-binary';
  hex: string;
  decoded: DecodedClientMessageAnnotation;
}

export interface TextEvent extends EventBase {
  kind: 'ws-text';
  text: string;
  decoded: { masked: boolean; json: Record<string, unknown> };
}

export interface HttpEvent extends EventBase {
  kind: 'http-request' | 'http-response';
  text: string;
  decoded: { headers: [string, string][]; body: string } & Record<string, unknown>;
}

export interface ControlEvent extends EventBase {
  kind: 'ws-ping' | 'ws-pong' | 'ws-close';
  hex: string;
  decoded: Record<string, unknown>;
}

export interface TcpCloseEvent extends EventBase {
  kind: 'tcp-close';
  decoded: { how: string };
}

export type TranscriptEvent = BinaryEvent | TextEvent | HttpEvent | ControlEvent | TcpCloseEvent;

const cache = new Map<TranscriptName, TranscriptEvent[]>();

/** All events of one transcript, in recorded order. */
export function loadTranscript(name: TranscriptName): TranscriptEvent[] {
  let events = cache.get(name);
  if (!events) {
    const file = path.join(VECTORS_DIR, `${name}.jsonl`);
    events = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line, index) => {
        try {
          return JSON.parse(line) as TranscriptEvent;
        } catch (error) {
          throw new Error(`${file}:${index + 1}: not JSON: ${(error as Error).message}`, { cause: error });
        }
      });
    cache.set(name, events);
  }
  return events;
}

/** A captured ClientMessage: the frame's bytes, the payload's bytes and the recorder's annotation. */
export interface CapturedMessage {
  transcript: TranscriptName;
  dir: Direction;
  conn: number;
  frame: Buffer;
  payload: Buffer;
  decoded: DecodedClientMessageAnnotation;
}

export function capturedMessages(name: TranscriptName): CapturedMessage[] {
  return loadTranscript(name)
    .filter((event): event is BinaryEvent => event.kind === 'ws-binary')
    .map((event) => ({
      transcript: name,
      dir: event.dir,
      conn: event.conn,
      frame: Buffer.from(event.hex, 'hex'),
      payload: Buffer.from(event.decoded.payload, event.decoded.payloadEncoding),
      decoded: event.decoded,
    }));
}

/** The OpenDataChannel text frames the client sent. */
export function openDataChannelTexts(name: TranscriptName): string[] {
  return loadTranscript(name)
    .filter((event): event is TextEvent => event.kind === 'ws-text' && event.dir === 'client->service')
    .map((event) => event.text);
}
