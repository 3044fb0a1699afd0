import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeSocksReply,
  parseSocksCredentials,
  parseSocksGreeting,
  parseSocksRequest,
  SocksReply,
} from '../../src/proxy/socks5-handshake.js';

const bytes = (...values: number[]): Buffer => Buffer.from(values);

describe('SOCKS5 greeting', () => {
  it('reads the offered methods and how many bytes they took', () => {
    expect(parseSocksGreeting(bytes(5, 2, 0, 2, 0xaa))).toEqual({ kind: 'complete', value: { methods: [0, 2] }, consumed: 4 });
  });

  it('asks for more bytes until the greeting is whole', () => {
    for (const partial of [bytes(), bytes(5), bytes(5, 3, 0, 1)]) expect(parseSocksGreeting(partial)).toEqual({ kind: 'incomplete' });
  });

  it('rejects another version and an empty method list', () => {
    expect(parseSocksGreeting(bytes(4, 1, 0))).toMatchObject({ kind: 'invalid' });
    expect(parseSocksGreeting(Buffer.from('GET / HTTP/1.1'))).toMatchObject({ kind: 'invalid' });
    expect(parseSocksGreeting(bytes(5, 0))).toMatchObject({ kind: 'invalid' });
  });
});

describe('SOCKS5 username/password (RFC 1929)', () => {
  it('reads the username and password', () => {
    const message = Buffer.concat([bytes(1, 4), Buffer.from('user'), bytes(6), Buffer.from('secret')]);
    expect(parseSocksCredentials(message)).toEqual({ kind: 'complete', value: { username: 'user', password: 'secret' }, consumed: message.length });
    expect(parseSocksCredentials(message.subarray(0, message.length - 1))).toEqual({ kind: 'incomplete' });
  });

  it('rejects an unknown sub-negotiation version and an empty username', () => {
    expect(parseSocksCredentials(bytes(5, 1, 0x61, 0))).toMatchObject({ kind: 'invalid' });
    expect(parseSocksCredentials(bytes(1, 0, 0))).toMatchObject({ kind: 'invalid' });
  });
});

describe('SOCKS5 request', () => {
  it('reads an IPv4 destination', () => {
    expect(parseSocksRequest(bytes(5, 1, 0, 1, 10, 1, 2, 3, 0x15, 0x38))).toEqual({
      kind: 'complete',
      value: { command: 1, host: '10.1.2.3', port: 5432 },
      consumed: 10,
    });
  });

  it('reads a domain name, left for the target to resolve', () => {
    const name = Buffer.from('db.internal');
    expect(parseSocksRequest(Buffer.concat([bytes(5, 1, 0, 3, name.length), name, bytes(1, 0xbb)]))).toMatchObject({
      kind: 'complete',
      value: { host: 'db.internal', port: 443 },
    });
  });

  it('reads an IPv6 destination in its compressed form', () => {
    const address = Buffer.alloc(16);
    address[0] = 0xfd;
    address[15] = 1;
    expect(parseSocksRequest(Buffer.concat([bytes(5, 1, 0, 4), address, bytes(0, 80)]))).toMatchObject({ value: { host: 'fd00::1', port: 80 } });
    expect(parseSocksRequest(Buffer.concat([bytes(5, 1, 0, 4), Buffer.alloc(15), bytes(1, 0, 22)]))).toMatchObject({ value: { host: '::1', port: 22 } });
  });

  it('says which reply an unparseable request deserves', () => {
    expect(parseSocksRequest(bytes(5, 1, 0, 9, 0, 0))).toMatchObject({ kind: 'invalid', reply: SocksReply.ADDRESS_TYPE_NOT_SUPPORTED });
    expect(parseSocksRequest(bytes(5, 1, 0, 3, 0, 0, 80))).toMatchObject({ kind: 'invalid', reply: SocksReply.GENERAL_FAILURE });
    expect(parseSocksRequest(bytes(5, 1, 7, 1, 1, 2, 3, 4, 0, 80))).toMatchObject({ kind: 'invalid', reply: SocksReply.GENERAL_FAILURE });
  });

  it('encodes a reply with the unspecified bound address', () => {
    expect([...encodeSocksReply(SocksReply.CONNECTION_REFUSED)]).toEqual([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
  });
});

describe('SOCKS5 parsers under arbitrary input', () => {
  const parsers = [parseSocksGreeting, parseSocksCredentials, parseSocksRequest];

  it('never throw, and never consume more than they were given', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (input) => {
        for (const parse of parsers) {
          const result = parse(Buffer.from(input));
          if (result.kind === 'complete') expect(result.consumed).toBeLessThanOrEqual(input.length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('give the same answer however the bytes are split, once they are all there', () => {
    const request = fc
      .tuple(fc.constantFrom(1, 3, 4), fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 65535 }))
      .map(([type, address, port]) => {
        const body = type === 1 ? Buffer.from(address.slice(0, 4).length === 4 ? address.slice(0, 4) : [1, 2, 3, 4]) : type === 4 ? Buffer.alloc(16, address[0]) : Buffer.concat([bytes(address.length), Buffer.from(address)]);
        const portBytes = Buffer.alloc(2);
        portBytes.writeUInt16BE(port);
        return Buffer.concat([bytes(5, 1, 0, type), body, portBytes]);
      });
    fc.assert(
      fc.property(request, (message) => {
        const whole = parseSocksRequest(message);
        expect(whole.kind).toBe('complete');
        for (let cut = 0; cut < message.length; cut++) expect(parseSocksRequest(message.subarray(0, cut)).kind).toBe('incomplete');
      }),
    );
  });
});
