import { isIPv6 } from 'node:net';
import { INCOMPLETE, type ParseResult } from './handshake-result.js';

/*
 * The SOCKS5 handshake (RFC 1928) and its username/password sub-negotiation (RFC 1929), as pure
 * functions over the bytes received so far. Each parser answers "incomplete" until a whole message
 * is there, so a client may send it in any number of pieces.
 */

export const SOCKS_VERSION = 0x05;
/** RFC 1929 §2: the sub-negotiation's own version byte. */
const AUTH_VERSION = 0x01;

export const SocksMethod = {
  NO_AUTH: 0x00,
  USERNAME_PASSWORD: 0x02,
  NO_ACCEPTABLE: 0xff,
} as const;

export const SocksCommand = { CONNECT: 0x01, BIND: 0x02, UDP_ASSOCIATE: 0x03 } as const;

const AddressType = { IPV4: 0x01, DOMAIN: 0x03, IPV6: 0x04 } as const;

/** RFC 1928 §6 reply codes. */
export const SocksReply = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

export interface SocksGreeting {
  methods: number[];
}

export interface SocksCredentials {
  username: string;
  password: string;
}

export interface SocksRequest {
  command: number;
  /** An IPv4 or IPv6 address in text form, or the domain name as sent. */
  host: string;
  port: number;
}

/** A request that cannot be parsed further still deserves a reply code when the version was right. */
export interface SocksRejection {
  reply?: number;
}

/** VER NMETHODS METHODS… (RFC 1928 §3). */
export function parseSocksGreeting(bytes: Buffer): ParseResult<SocksGreeting, object> {
  if (bytes.length < 1) return INCOMPLETE;
  if (bytes[0] !== SOCKS_VERSION) return { kind: 'invalid', reason: `not SOCKS5 (version byte ${bytes[0]})` };
  if (bytes.length < 2) return INCOMPLETE;
  const count = bytes[1]!;
  if (count === 0) return { kind: 'invalid', reason: 'the greeting offers no authentication method' };
  if (bytes.length < 2 + count) return INCOMPLETE;
  return { kind: 'complete', value: { methods: [...bytes.subarray(2, 2 + count)] }, consumed: 2 + count };
}

/** VER ULEN UNAME PLEN PASSWD (RFC 1929 §2). */
export function parseSocksCredentials(bytes: Buffer): ParseResult<SocksCredentials, object> {
  if (bytes.length < 1) return INCOMPLETE;
  if (bytes[0] !== AUTH_VERSION) return { kind: 'invalid', reason: `unknown username/password version ${bytes[0]}` };
  if (bytes.length < 2) return INCOMPLETE;
  const userLength = bytes[1]!;
  if (userLength === 0) return { kind: 'invalid', reason: 'empty username' };
  if (bytes.length < 3 + userLength) return INCOMPLETE;
  const passwordLength = bytes[2 + userLength]!;
  const end = 3 + userLength + passwordLength;
  if (bytes.length < end) return INCOMPLETE;
  return {
    kind: 'complete',
    value: { username: bytes.toString('utf8', 2, 2 + userLength), password: bytes.toString('utf8', 3 + userLength, end) },
    consumed: end,
  };
}

/** VER CMD RSV ATYP DST.ADDR DST.PORT (RFC 1928 §4). */
export function parseSocksRequest(bytes: Buffer): ParseResult<SocksRequest, SocksRejection> {
  if (bytes.length < 1) return INCOMPLETE;
  if (bytes[0] !== SOCKS_VERSION) return { kind: 'invalid', reason: `not SOCKS5 (version byte ${bytes[0]})` };
  if (bytes.length < 4) return INCOMPLETE;
  const command = bytes[1]!;
  if (bytes[2] !== 0x00) return { kind: 'invalid', reason: `reserved byte is ${bytes[2]}, not 0`, reply: SocksReply.GENERAL_FAILURE };
  const addressType = bytes[3]!;
  let host: string;
  let portAt: number;
  switch (addressType) {
    case AddressType.IPV4:
      if (bytes.length < 10) return INCOMPLETE;
      host = [...bytes.subarray(4, 8)].join('.');
      portAt = 8;
      break;
    case AddressType.IPV6:
      if (bytes.length < 22) return INCOMPLETE;
      host = formatIPv6(bytes.subarray(4, 20));
      portAt = 20;
      break;
    case AddressType.DOMAIN: {
      if (bytes.length < 5) return INCOMPLETE;
      const length = bytes[4]!;
      if (length === 0) return { kind: 'invalid', reason: 'empty domain name', reply: SocksReply.GENERAL_FAILURE };
      if (bytes.length < 5 + length + 2) return INCOMPLETE;
      host = bytes.toString('latin1', 5, 5 + length);
      portAt = 5 + length;
      break;
    }
    default:
      return { kind: 'invalid', reason: `unknown address type ${addressType}`, reply: SocksReply.ADDRESS_TYPE_NOT_SUPPORTED };
  }
  const port = bytes.readUInt16BE(portAt);
  return { kind: 'complete', value: { command, host, port }, consumed: portAt + 2 };
}

/** The server's method choice (RFC 1928 §3). */
export function encodeSocksMethodChoice(method: number): Buffer {
  return Buffer.from([SOCKS_VERSION, method]);
}

/** The sub-negotiation status (RFC 1929 §2): 0 is success, anything else closes the connection. */
export function encodeSocksAuthStatus(ok: boolean): Buffer {
  return Buffer.from([AUTH_VERSION, ok ? 0x00 : 0x01]);
}

/**
 * A reply (RFC 1928 §6). The bound address is 0.0.0.0:0: the connection is made by the agent on the
 * target, whose address this end never learns, and clients of CONNECT do not use it.
 */
export function encodeSocksReply(reply: number): Buffer {
  return Buffer.from([SOCKS_VERSION, reply, 0x00, AddressType.IPV4, 0, 0, 0, 0, 0, 0]);
}

function formatIPv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  const text = groups.join(':');
  // Compress the longest zero run as RFC 5952 does, so allow-list and logs see the usual form.
  const runs = [...text.matchAll(/(?:^|:)0(?::0)+(?::|$)/g)];
  const longest = runs.reduce<RegExpMatchArray | undefined>((best, run) => (best === undefined || run[0].length > best[0].length ? run : best), undefined);
  const compressed = longest === undefined ? text : `${text.slice(0, longest.index)}::${text.slice(longest.index! + longest[0].length)}`;
  return isIPv6(compressed) ? compressed : text;
}
