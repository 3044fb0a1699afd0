import { ProtocolError } from './errors.js';

/*
 * JSON payloads of the data channel, as plain camelCase data. Encoders emit the keys in the
 * reference's order (docs/protocol.md §5.2, §8.3); decoders tolerate unknown keys and reject
 * missing required ones.
 */

type Json = Record<string, unknown>;

function parseObject(payload: Buffer | string, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (error) {
    // Only the position: the parser's own text quotes the input, which may hold a token.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new ProtocolError(`${what} is not valid JSON${position === undefined ? '' : ` (error at byte ${position})`}`, what);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(`${what} must be a JSON object`, what);
  }
  return value as Json;
}

function field<T>(object: Json, key: string, what: string, check: (v: unknown) => v is T, expected: string): T {
  const value = object[key];
  if (!check(value)) {
    const seen = value === undefined ? 'missing' : `got ${JSON.stringify(value)}`;
    throw new ProtocolError(`${what}.${key}: expected ${expected}, ${seen}`, `${what}.${key}`);
  }
  return value;
}

function optionalField<T>(object: Json, key: string, what: string, check: (v: unknown) => v is T, expected: string, fallback: T): T {
  return object[key] === undefined || object[key] === null ? fallback : field(object, key, what, check, expected);
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');

// --- acknowledge (docs/protocol.md §5.2) ------------------------------------------------------

export interface Acknowledgement {
  acknowledgedMessageType: string;
  acknowledgedMessageId: string;
  acknowledgedMessageSequenceNumber: number;
  isSequentialMessage: boolean;
}

/**
 * Strings that JSON.stringify writes as they are (ASCII word characters, `.`, `:`, `-`): message
 * types and UUIDs always are.
 */
const PLAIN_STRING = /^[\w.:-]*$/;
const isPlainString = (v: unknown): v is string => typeof v === 'string' && PLAIN_STRING.test(v);

/**
 * An acknowledgement exactly as the agent and encodeAcknowledgement write it (no spaces, keys in
 * the reference's order, plain strings); anything else takes the general JSON path.
 */
const CANONICAL_ACKNOWLEDGEMENT =
  /^\{"AcknowledgedMessageType":"([\w.:-]*)","AcknowledgedMessageId":"([\w.:-]*)","AcknowledgedMessageSequenceNumber":(-?(?:0|[1-9]\d{0,15})),"IsSequentialMessage":(true|false)\}$/;

/*
 * One acknowledgement goes each way per stream message, so both codecs have a fast path that is
 * byte-for-byte (and value-for-value) what JSON.stringify and JSON.parse give; in the benchmark's
 * profile the general path cost as much as hashing the acknowledgement.
 */

export function encodeAcknowledgement(ack: Acknowledgement): Buffer {
  const type = ack.acknowledgedMessageType;
  const id = ack.acknowledgedMessageId;
  const sequenceNumber = ack.acknowledgedMessageSequenceNumber;
  const sequential = ack.isSequentialMessage;
  if (isPlainString(type) && isPlainString(id) && Number.isSafeInteger(sequenceNumber) && typeof sequential === 'boolean') {
    return Buffer.from(
      `{"AcknowledgedMessageType":"${type}","AcknowledgedMessageId":"${id}","AcknowledgedMessageSequenceNumber":${sequenceNumber},"IsSequentialMessage":${sequential}}`,
      'latin1',
    );
  }
  return json({
    AcknowledgedMessageType: type,
    AcknowledgedMessageId: id,
    AcknowledgedMessageSequenceNumber: sequenceNumber,
    IsSequentialMessage: sequential,
  });
}

export function decodeAcknowledgement(payload: Buffer): Acknowledgement {
  const canonical = CANONICAL_ACKNOWLEDGEMENT.exec(payload.toString('latin1'));
  if (canonical !== null) {
    const sequenceNumber = Number(canonical[3]);
    if (Number.isSafeInteger(sequenceNumber)) {
      return {
        acknowledgedMessageType: canonical[1]!,
        acknowledgedMessageId: canonical[2]!,
        acknowledgedMessageSequenceNumber: sequenceNumber,
        isSequentialMessage: canonical[4] === 'true',
      };
    }
  }
  const what = 'Acknowledgement';
  const o = parseObject(payload, what);
  return {
    acknowledgedMessageType: optionalField(o, 'AcknowledgedMessageType', what, isString, 'a string', ''),
    acknowledgedMessageId: optionalField(o, 'AcknowledgedMessageId', what, isString, 'a string', ''),
    acknowledgedMessageSequenceNumber: field(o, 'AcknowledgedMessageSequenceNumber', what, isInteger, 'an integer'),
    isSequentialMessage: optionalField(o, 'IsSequentialMessage', what, isBoolean, 'a boolean', true),
  };
}

// --- handshake (docs/protocol.md §8) ----------------------------------------------------------

export const ActionType = { SessionType: 'SessionType', KMSEncryption: 'KMSEncryption' } as const;
export const ActionStatus = { Success: 1, Failed: 2, Unsupported: 3 } as const;

export interface RequestedClientAction {
  actionType: string;
  actionParameters: Json;
}

export interface HandshakeRequest {
  agentVersion: string;
  requestedClientActions: RequestedClientAction[];
}

/** Parameters of a `SessionType` action (docs/protocol.md §8.2): for port sessions, `Properties` are all strings. */
export interface SessionTypeParameters {
  sessionType: string;
  properties: Record<string, string>;
}

export function encodeHandshakeRequest(request: HandshakeRequest): Buffer {
  return json({
    AgentVersion: request.agentVersion,
    RequestedClientActions: request.requestedClientActions.map((a) => ({
      ActionType: a.actionType,
      ActionParameters: a.actionParameters,
    })),
  });
}

export function decodeHandshakeRequest(payload: Buffer): HandshakeRequest {
  const what = 'HandshakeRequest';
  const o = parseObject(payload, what);
  const actions = field(o, 'RequestedClientActions', what, isArray, 'an array');
  return {
    agentVersion: field(o, 'AgentVersion', what, isString, 'a string'),
    requestedClientActions: actions.map((action, i) => {
      const at = `${what}.RequestedClientActions[${i}]`;
      if (!isObject(action)) throw new ProtocolError(`${at}: expected an object`, at);
      return {
        actionType: field(action, 'ActionType', at, isString, 'a string'),
        actionParameters: optionalField(action, 'ActionParameters', at, isObject, 'an object', {}),
      };
    }),
  };
}

/** Reads the SessionType action's parameters; property values are coerced to strings (docs/forwarding.md §1.1). */
export function decodeSessionTypeParameters(parameters: Json): SessionTypeParameters {
  const what = 'SessionType.ActionParameters';
  const properties = optionalField(parameters, 'Properties', what, isObject, 'an object', {});
  // fromEntries defines own properties, so a key such as "__proto__" is kept, not assigned to the prototype.
  const strings: Record<string, string> = Object.fromEntries(
    Object.entries(properties)
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
  return { sessionType: field(parameters, 'SessionType', what, isString, 'a string'), properties: strings };
}

export interface ProcessedClientAction {
  actionType: string;
  actionStatus: number;
  actionResult: unknown;
  error: string;
}

export interface HandshakeResponse {
  clientVersion: string;
  processedClientActions: ProcessedClientAction[];
  errors: string[];
}

export function encodeHandshakeResponse(response: HandshakeResponse): Buffer {
  return json({
    ClientVersion: response.clientVersion,
    ProcessedClientActions: response.processedClientActions.map((a) => ({
      ActionType: a.actionType,
      ActionStatus: a.actionStatus,
      ActionResult: a.actionResult ?? null,
      Error: a.error,
    })),
    // The reference writes null, not [], when there are no errors (docs/protocol.md §8.3).
    Errors: response.errors.length === 0 ? null : response.errors,
  });
}

export function decodeHandshakeResponse(payload: Buffer): HandshakeResponse {
  const what = 'HandshakeResponse';
  const o = parseObject(payload, what);
  const actions = optionalField(o, 'ProcessedClientActions', what, isArray, 'an array', []);
  const errors = optionalField(o, 'Errors', what, isArray, 'an array', []);
  return {
    clientVersion: field(o, 'ClientVersion', what, isString, 'a string'),
    processedClientActions: actions.map((action, i) => {
      const at = `${what}.ProcessedClientActions[${i}]`;
      if (!isObject(action)) throw new ProtocolError(`${at}: expected an object`, at);
      return {
        actionType: field(action, 'ActionType', at, isString, 'a string'),
        actionStatus: field(action, 'ActionStatus', at, isInteger, 'an integer'),
        actionResult: action.ActionResult ?? null,
        error: optionalField(action, 'Error', at, isString, 'a string', ''),
      };
    }),
    errors: errors.map((e) => String(e)),
  };
}

export interface HandshakeComplete {
  /** Go duration: nanoseconds (docs/protocol.md §8.4). */
  handshakeTimeToComplete: number;
  customerMessage: string;
}

export function encodeHandshakeComplete(complete: HandshakeComplete): Buffer {
  return json({
    HandshakeTimeToComplete: Math.round(complete.handshakeTimeToComplete),
    CustomerMessage: complete.customerMessage,
  });
}

export function decodeHandshakeComplete(payload: Buffer): HandshakeComplete {
  const what = 'HandshakeComplete';
  const o = parseObject(payload, what);
  return {
    handshakeTimeToComplete: optionalField(o, 'HandshakeTimeToComplete', what, isNumber, 'a number', 0),
    customerMessage: optionalField(o, 'CustomerMessage', what, isString, 'a string', ''),
  };
}

// --- channel_closed (docs/protocol.md §10.1) -------------------------------------------------

export interface ChannelClosed {
  messageId: string;
  createdDate: string;
  destinationId: string;
  sessionId: string;
  messageType: string;
  schemaVersion: number;
  output: string;
}

export function encodeChannelClosed(closed: ChannelClosed): Buffer {
  return json({
    MessageId: closed.messageId,
    CreatedDate: closed.createdDate,
    DestinationId: closed.destinationId,
    SessionId: closed.sessionId,
    MessageType: closed.messageType,
    SchemaVersion: closed.schemaVersion,
    Output: closed.output,
  });
}

export function decodeChannelClosed(payload: Buffer): ChannelClosed {
  const what = 'ChannelClosed';
  const o = parseObject(payload, what);
  return {
    messageId: optionalField(o, 'MessageId', what, isString, 'a string', ''),
    createdDate: optionalField(o, 'CreatedDate', what, isString, 'a string', ''),
    destinationId: optionalField(o, 'DestinationId', what, isString, 'a string', ''),
    sessionId: optionalField(o, 'SessionId', what, isString, 'a string', ''),
    messageType: optionalField(o, 'MessageType', what, isString, 'a string', 'channel_closed'),
    schemaVersion: optionalField(o, 'SchemaVersion', what, isInteger, 'an integer', 1),
    output: optionalField(o, 'Output', what, isString, 'a string', ''),
  };
}

// --- flags (docs/protocol.md §3.4) ------------------------------------------------------------

export const Flag = { DisconnectToPort: 1, TerminateSession: 2, ConnectToPortError: 3 } as const;
export type Flag = (typeof Flag)[keyof typeof Flag];

const FLAG_NAMES: Record<number, string> = {
  1: 'DisconnectToPort',
  2: 'TerminateSession',
  3: 'ConnectToPortError',
};

export function flagName(value: number): string {
  return FLAG_NAMES[value] ?? `Unknown(${value})`;
}

export function encodeFlag(flag: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(flag, 0);
  return payload;
}

/** A payload shorter than 4 bytes decodes as 0, which both sides ignore (docs/protocol.md §3.4). */
export function decodeFlag(payload: Buffer): number {
  return payload.length < 4 ? 0 : payload.readUInt32BE(0);
}

// --- OpenDataChannel (docs/protocol.md §4.1) -------------------------------------------------

export interface OpenDataChannel {
  messageSchemaVersion: string;
  requestId: string;
  tokenValue: string;
  clientId: string;
  clientVersion: string;
}

export function encodeOpenDataChannel(open: OpenDataChannel): string {
  return JSON.stringify({
    MessageSchemaVersion: open.messageSchemaVersion,
    RequestId: open.requestId,
    TokenValue: open.tokenValue,
    ClientId: open.clientId,
    ClientVersion: open.clientVersion,
  });
}

export function decodeOpenDataChannel(text: string | Buffer): OpenDataChannel {
  const what = 'OpenDataChannel';
  const o = parseObject(text, what);
  return {
    messageSchemaVersion: field(o, 'MessageSchemaVersion', what, isString, 'a string'),
    requestId: field(o, 'RequestId', what, isString, 'a string'),
    tokenValue: field(o, 'TokenValue', what, isString, 'a string'),
    clientId: optionalField(o, 'ClientId', what, isString, 'a string', ''),
    // Plugins before commit 9b57835a sent no ClientVersion (docs/protocol.md §4.1).
    clientVersion: optionalField(o, 'ClientVersion', what, isString, 'a string', ''),
  };
}
