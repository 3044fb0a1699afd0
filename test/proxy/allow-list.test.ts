import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { AllowList } from '../../src/proxy/allow-list.js';

describe('the allow list', () => {
  const list = AllowList.parse(['*.internal:443', '10.0.0.0/8:5432', 'db.example.com:*', '[fd00::]/8:8000-8099', '[::1]:22']);

  it('admits names below a wildcard suffix, on the given port only', () => {
    expect(list.allows('api.internal', 443)).toBe(true);
    expect(list.allows('EKS.API.internal.', 443)).toBe(true);
    expect(list.allows('internal', 443)).toBe(false);
    expect(list.allows('api.internal', 80)).toBe(false);
    expect(list.allows('api.internal.evil.com', 443)).toBe(false);
  });

  it('admits addresses inside a CIDR block, but not names (they are resolved on the target)', () => {
    expect(list.allows('10.20.30.40', 5432)).toBe(true);
    expect(list.allows('11.0.0.1', 5432)).toBe(false);
    expect(list.allows('db.internal', 5432)).toBe(false);
  });

  it('admits any port for `:*`, port ranges, and IPv6 blocks and addresses', () => {
    expect(list.allows('db.example.com', 1)).toBe(true);
    expect(list.allows('db.example.com', 65535)).toBe(true);
    expect(list.allows('fd12::5', 8050)).toBe(true);
    expect(list.allows('[fd12::5]', 8099)).toBe(true);
    expect(list.allows('fd12::5', 8100)).toBe(false);
    expect(list.allows('::1', 22)).toBe(true);
    expect(list.allows('fe80::1', 8050)).toBe(false);
  });

  it('names the entry that admitted a destination', () => {
    expect(list.match('x.internal', 443)).toBe('*.internal:443');
  });

  it('allows everything when not given, nothing when empty', () => {
    expect(AllowList.parse(undefined).allows('anything', 1)).toBe(true);
    expect(AllowList.parse([]).allows('anything', 1)).toBe(false);
  });

  it('refuses malformed entries with ERR_INVALID_OPTION naming the entry', () => {
    for (const bad of ['db.internal', 'db.internal:0', 'db.internal:http', '10.0.0.0/33:1', 'fd00::1:443', '[db]:1', '*:70000', 'a b:1', '10.0.0.0/:1', '[fd00::]/8/8:1']) {
      let thrown: unknown;
      try {
        AllowList.parse(['*:1', bad]);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, bad).toMatchObject({ code: ErrorCode.INVALID_OPTION });
      expect((thrown as Error).message).toContain('allow[1]');
    }
  });
});
