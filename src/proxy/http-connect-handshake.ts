import { INCOMPLETE, type ParseResult } from './handshake-result.js';

/*
 * An HTTP CONNECT request head (RFC 9110 §9.3.6, RFC 9112 §3) as a pure function over the bytes
 * received so far: incomplete until the blank line, then the authority and the headers.
 */

/** A request head larger than this is refused (431): a CONNECT needs a few hundred bytes at most. */
export const MAX_HTTP_HEAD_BYTES = 8 * 1024;
/** So is one with more header fields than this. */
const MAX_HEADER_FIELDS = 100;

export interface HttpConnectRequest {
  host: string;
  port: number;
  /** Field names in lower case; a repeated field keeps its last value. */
  headers: Map<string, string>;
}

export interface HttpRejection {
  /** The status to answer with. */
  status: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.[01]$/;

export function parseHttpConnect(bytes: Buffer): ParseResult<HttpConnectRequest, HttpRejection> {
  const end = bytes.indexOf(HEAD_END);
  if (end < 0) {
    if (bytes.length >= MAX_HTTP_HEAD_BYTES) return { kind: 'invalid', reason: `request head larger than ${MAX_HTTP_HEAD_BYTES} bytes`, status: 431 };
    return INCOMPLETE;
  }
  if (end + HEAD_END.length > MAX_HTTP_HEAD_BYTES) return { kind: 'invalid', reason: `request head larger than ${MAX_HTTP_HEAD_BYTES} bytes`, status: 431 };
  const lines = bytes.toString('latin1', 0, end).split('\r\n');
  const requestLine = REQUEST_LINE.exec(lines[0]!);
  if (requestLine === null) return { kind: 'invalid', reason: 'malformed request line', status: 400 };
  const [, method, target] = requestLine as unknown as [string, string, string];
  if (method !== 'CONNECT') return { kind: 'invalid', reason: `method ${method} is not supported: this proxy only tunnels (CONNECT)`, status: 405 };
  const authority = parseAuthority(target);
  if (authority === undefined) return { kind: 'invalid', reason: 'the CONNECT target must be host:port', status: 400 };
  const fieldLines = lines.slice(1);
  if (fieldLines.length > MAX_HEADER_FIELDS) return { kind: 'invalid', reason: `more than ${MAX_HEADER_FIELDS} header fields`, status: 431 };
  const headers = new Map<string, string>();
  for (const line of fieldLines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) return { kind: 'invalid', reason: 'malformed header field', status: 400 };
    headers.set(name.toLowerCase(), line.slice(colon + 1).trim());
  }
  return { kind: 'complete', value: { ...authority, headers }, consumed: end + HEAD_END.length };
}

/** `host:port` or `[v6]:port`, the authority form CONNECT requires (RFC 9112 §3.2.3). */
function parseAuthority(target: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/@?#]+)):(\d{1,5})$/.exec(target);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

/** Basic credentials of a `Proxy-Authorization` field (RFC 9110 §11.7.1, RFC 7617), if that is what it holds. */
export function parseBasicCredentials(value: string | undefined): { username: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(value ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const REASONS: Readonly<Record<number, string>> = {
  200: 'Connection Established',
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A response head; a failure carries a one-line plain-text body saying why, and closes. */
export function encodeHttpResponse(status: number, body?: string): Buffer {
  const reason = REASONS[status] ?? 'Error';
  if (status === 200) return Buffer.from(`HTTP/1.1 200 ${reason}\r\n\r\n`, 'latin1');
  const text = `${(body ?? reason).replace(/[\r\n]+/g, ' ')}\n`;
  const fields = [`HTTP/1.1 ${status} ${reason}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(text)}`, 'Connection: close'];
  if (status === 407) fields.push('Proxy-Authenticate: Basic realm="ssm-tunnel"');
  return Buffer.from(`${fields.join('\r\n')}\r\n\r\n${text}`, 'utf8');
}
