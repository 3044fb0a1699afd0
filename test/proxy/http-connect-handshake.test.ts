import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHttpResponse, MAX_HTTP_HEAD_BYTES, parseBasicCredentials, parseHttpConnect } from '../../src/proxy/http-connect-handshake.js';

const head = (text: string): Buffer => Buffer.from(text.replaceAll('\n', '\r\n'));

describe('HTTP CONNECT request', () => {
  it('reads the authority and the header fields, and leaves what follows', () => {
    const request = head('CONNECT db.internal:5432 HTTP/1.1\nHost: db.internal:5432\nProxy-Authorization: Basic dTpw\n\n');
    const result = parseHttpConnect(Buffer.concat([request, Buffer.from('early')]));
    expect(result).toMatchObject({ kind: 'complete', value: { host: 'db.internal', port: 5432 }, consumed: request.length });
    expect(result.kind === 'complete' && result.value.headers.get('proxy-authorization')).toBe('Basic dTpw');
  });

  it('reads a bracketed IPv6 authority', () => {
    expect(parseHttpConnect(head('CONNECT [fd00::1]:443 HTTP/1.1\n\n'))).toMatchObject({ value: { host: 'fd00::1', port: 443 } });
  });

  it('waits for the blank line', () => {
    expect(parseHttpConnect(head('CONNECT a:1 HTTP/1.1\nHost: a'))).toEqual({ kind: 'incomplete' });
  });

  it('answers other methods with 405, bad targets with 400 and oversized heads with 431', () => {
    expect(parseHttpConnect(head('GET http://a/ HTTP/1.1\n\n'))).toMatchObject({ kind: 'invalid', status: 405 });
    expect(parseHttpConnect(head('CONNECT a HTTP/1.1\n\n'))).toMatchObject({ kind: 'invalid', status: 400 });
    expect(parseHttpConnect(head('CONNECT a:0 HTTP/1.1\n\n'))).toMatchObject({ kind: 'invalid', status: 400 });
    expect(parseHttpConnect(head('CONNECT a:99999 HTTP/1.1\n\n'))).toMatchObject({ kind: 'invalid', status: 400 });
    expect(parseHttpConnect(head('CONNECT a:1 HTTP/1.1\nno colon\n\n'))).toMatchObject({ kind: 'invalid', status: 400 });
    expect(parseHttpConnect(Buffer.alloc(MAX_HTTP_HEAD_BYTES, 'a'))).toMatchObject({ kind: 'invalid', status: 431 });
  });

  it('reads Basic proxy credentials', () => {
    expect(parseBasicCredentials(`Basic ${Buffer.from('me:pa:ss').toString('base64')}`)).toEqual({ username: 'me', password: 'pa:ss' });
    expect(parseBasicCredentials('Bearer x')).toBeUndefined();
    expect(parseBasicCredentials(undefined)).toBeUndefined();
  });

  it('answers a failure with a one-line body and Connection: close', () => {
    const text = encodeHttpResponse(403, 'db:5432 is not\nallowed').toString();
    expect(text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(text).toContain('Connection: close\r\n');
    expect(text.endsWith('\r\n\r\ndb:5432 is not allowed\n')).toBe(true);
  });
});

describe('HTTP CONNECT parser under arbitrary input', () => {
  it('never throws, never consumes more than given, and answers every invalid head with a 4xx', () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
      fc.string({ maxLength: 300 }).map((s) => Buffer.from(`CONNECT ${s}\r\n\r\n`)),
      fc.array(fc.string({ maxLength: 40 }), { maxLength: 20 }).map((lines) => Buffer.from(`CONNECT h:1 HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`)),
    );
    fc.assert(
      fc.property(input, (bytes) => {
        const result = parseHttpConnect(bytes);
        if (result.kind === 'complete') expect(result.consumed).toBeLessThanOrEqual(bytes.length);
        if (result.kind === 'invalid') expect(result.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 2000 },
    );
  });
});
