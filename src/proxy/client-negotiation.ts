import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { HandshakeAborted, HandshakeReader } from './handshake-reader.js';
import { encodeHttpResponse, MAX_HTTP_HEAD_BYTES, parseBasicCredentials, parseHttpConnect } from './http-connect-handshake.js';
import {
  encodeSocksAuthStatus,
  encodeSocksMethodChoice,
  encodeSocksReply,
  parseSocksCredentials,
  parseSocksGreeting,
  parseSocksRequest,
  SOCKS_VERSION,
  SocksCommand,
  SocksMethod,
  SocksReply,
} from './socks5-handshake.js';

/*
 * The client side of one proxy connection up to its request: SOCKS5 or HTTP CONNECT, told apart by
 * the first byte, credentials checked when the proxy has them. A malformed request is answered
 * with the protocol's error and the connection closed here; a valid one is returned with a way to
 * answer it once the destination's fate is known.
 */

/** Why a request fails, mapped to each protocol's reply (SOCKS5 REP, HTTP status). */
export type RequestFailure = 'denied' | 'refused' | 'unreachable' | 'timeout' | 'busy' | 'invalid';

const SOCKS_REPLIES: Readonly<Record<RequestFailure, number>> = {
  denied: SocksReply.NOT_ALLOWED,
  refused: SocksReply.CONNECTION_REFUSED,
  unreachable: SocksReply.HOST_UNREACHABLE,
  timeout: SocksReply.HOST_UNREACHABLE,
  busy: SocksReply.GENERAL_FAILURE,
  invalid: SocksReply.GENERAL_FAILURE,
};

const HTTP_STATUSES: Readonly<Record<RequestFailure, number>> = {
  denied: 403,
  refused: 502,
  unreachable: 502,
  timeout: 504,
  busy: 503,
  invalid: 400,
};

export interface ProxyRequest {
  protocol: 'socks5' | 'http';
  host: string;
  port: number;
  /** Bytes the client sent after its request, before any reply. */
  leftover: Buffer;
  /** The bytes that tell the client its tunnel is open. */
  success(): Buffer;
  /** The bytes that refuse the request (an HTTP reply carries `reason` as its one-line body). */
  failure(failure: RequestFailure, reason: string): Buffer;
}

export interface NegotiationOptions {
  credentials: { username: string; password: string } | undefined;
  timeoutMs: number;
  /** Told why a connection was turned away before its request was complete. */
  onRejected: (reason: string) => void;
}

/**
 * Bytes read before a request must be complete: headroom over the HTTP head limit, so the parser
 * (not the reader) answers an oversized head with 431. A SOCKS5 handshake needs at most 1,032.
 */
const MAX_READ_BYTES = MAX_HTTP_HEAD_BYTES * 2;

/** Reads the client's request; undefined when it was refused (already answered and closed). */
export async function negotiate(socket: Socket, options: NegotiationOptions): Promise<ProxyRequest | undefined> {
  const reader = new HandshakeReader(socket, MAX_READ_BYTES, options.timeoutMs);
  const refuse = (reason: string, answer?: Buffer): undefined => {
    reader.detach();
    options.onRejected(reason);
    if (answer !== undefined && !socket.destroyed) socket.end(answer);
    else socket.destroy();
    return undefined;
  };
  try {
    const first = await reader.peek();
    if (first === SOCKS_VERSION) return await socks(reader, options, refuse);
    if (first >= 0x41 && first <= 0x5a) return await http(reader, options, refuse);
    return refuse(`neither SOCKS5 nor HTTP (first byte 0x${first.toString(16).padStart(2, '0')})`);
  } catch (error) {
    if (error instanceof HandshakeAborted) return refuse(error.message);
    throw error;
  }
}

type Refuse = (reason: string, answer?: Buffer) => undefined;

async function socks(reader: HandshakeReader, options: NegotiationOptions, refuse: Refuse): Promise<ProxyRequest | undefined> {
  const greeting = await reader.next(parseSocksGreeting);
  if (greeting.kind === 'invalid') return refuse(`SOCKS5: ${greeting.reason}`, encodeSocksMethodChoice(SocksMethod.NO_ACCEPTABLE));
  const method = options.credentials === undefined ? SocksMethod.NO_AUTH : SocksMethod.USERNAME_PASSWORD;
  if (!greeting.value.methods.includes(method)) {
    const wanted = method === SocksMethod.NO_AUTH ? 'no authentication' : 'username/password authentication';
    return refuse(`SOCKS5: the client does not offer ${wanted}`, encodeSocksMethodChoice(SocksMethod.NO_ACCEPTABLE));
  }
  const socket = reader.socket;
  socket.write(encodeSocksMethodChoice(method));
  if (options.credentials !== undefined) {
    const offered = await reader.next(parseSocksCredentials);
    if (offered.kind === 'invalid') return refuse(`SOCKS5: ${offered.reason}`, encodeSocksAuthStatus(false));
    if (!credentialsMatch(offered.value, options.credentials)) return refuse('SOCKS5: wrong username or password', encodeSocksAuthStatus(false));
    socket.write(encodeSocksAuthStatus(true));
  }
  const request = await reader.next(parseSocksRequest);
  if (request.kind === 'invalid') {
    return refuse(`SOCKS5: ${request.reason}`, request.reply === undefined ? undefined : encodeSocksReply(request.reply));
  }
  const { command, host, port } = request.value;
  if (command !== SocksCommand.CONNECT) return refuse(`SOCKS5: command ${command} is not supported, only CONNECT`, encodeSocksReply(SocksReply.COMMAND_NOT_SUPPORTED));
  return {
    protocol: 'socks5',
    host,
    port,
    leftover: reader.detach(),
    success: () => encodeSocksReply(SocksReply.SUCCEEDED),
    failure: (failure) => encodeSocksReply(SOCKS_REPLIES[failure]),
  };
}

async function http(reader: HandshakeReader, options: NegotiationOptions, refuse: Refuse): Promise<ProxyRequest | undefined> {
  const request = await reader.next(parseHttpConnect);
  if (request.kind === 'invalid') return refuse(`HTTP: ${request.reason}`, encodeHttpResponse(request.status, request.reason));
  const { host, port, headers } = request.value;
  if (options.credentials !== undefined) {
    const offered = parseBasicCredentials(headers.get('proxy-authorization'));
    if (offered === undefined || !credentialsMatch(offered, options.credentials)) {
      return refuse('HTTP: missing or wrong proxy credentials', encodeHttpResponse(407, 'proxy authentication required'));
    }
  }
  return {
    protocol: 'http',
    host,
    port,
    leftover: reader.detach(),
    success: () => encodeHttpResponse(200),
    failure: (failure, reason) => encodeHttpResponse(HTTP_STATUSES[failure], reason),
  };
}

/** Compares in constant time per length, so a wrong password's timing says nothing about the right one. */
function credentialsMatch(offered: { username: string; password: string }, expected: { username: string; password: string }): boolean {
  const same = (a: string, b: string): boolean => {
    const left = Buffer.from(a);
    const right = Buffer.from(b);
    return left.length === right.length && timingSafeEqual(left, right);
  };
  return same(offered.username, expected.username) && same(offered.password, expected.password);
}
