import { describe, expect, it } from 'vitest';
import { formatHostPort, isLoopbackHost, isLoopbackUrl, isValidHost, toBuffer } from '../../src/util/net.js';

describe('formatHostPort', () => {
  it('brackets IPv6 hosts and leaves names and IPv4 alone', () => {
    expect(formatHostPort('::1', 47528)).toBe('[::1]:47528');
    expect(formatHostPort('127.0.0.1', 5432)).toBe('127.0.0.1:5432');
    expect(formatHostPort('db.internal', 5432)).toBe('db.internal:5432');
  });
});

describe('isLoopbackHost', () => {
  it.each(['localhost', 'LOCALHOST', 'localhost.', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:0:0:1'])(
    'counts %s as loopback',
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );
  it.each(['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'example.com', 'localhost.example.com', '127.0.0.1.nip.io', ''])(
    'does not count %s as loopback',
    (host) => expect(isLoopbackHost(host)).toBe(false),
  );
});

describe('toBuffer', () => {
  it('joins fragments and wraps array buffers', () => {
    expect(toBuffer([Buffer.from('ab'), Buffer.from('c')]).toString()).toBe('abc');
    expect(toBuffer(new Uint8Array([1, 2]).buffer).equals(Buffer.from([1, 2]))).toBe(true);
  });
});

describe('isValidHost', () => {
  it.each(['db.internal', 'orders.cluster-abc.eu-west-1.rds.amazonaws.com', 'localhost.', '_srv.zone', '10.0.0.9', '::1', 'fe80::1'])('accepts %s', (host) => {
    expect(isValidHost(host)).toBe(true);
  });

  it.each(['', 'db internal', '10.0.0.256', '10.1', '-lead.example', 'trail-.example', 'a..b', '[::1]', 'x'.repeat(254)])('rejects %j', (host) => {
    expect(isValidHost(host)).toBe(false);
  });
});

describe('isLoopbackUrl', () => {
  it('checks the host and, when asked, the scheme; an unparsable URL is not loopback', () => {
    expect(isLoopbackUrl('http://127.0.0.1:4566')).toBe(true);
    expect(isLoopbackUrl('https://[::1]:443/', 'http:')).toBe(false);
    expect(isLoopbackUrl('http://localhost:8080', 'http:')).toBe(true);
    expect(isLoopbackUrl('http://ssm.eu-west-1.amazonaws.com')).toBe(false);
    expect(isLoopbackUrl('not a url')).toBe(false);
  });
});
