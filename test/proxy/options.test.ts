import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { resolveProxyOptions, type ProxyOptions } from '../../src/proxy/options.js';

const TARGET = 'i-0123456789abcdef0';

function problem(options: Partial<ProxyOptions>): unknown {
  try {
    resolveProxyOptions({ target: TARGET, ...options });
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('openProxy options', () => {
  it('listens on 127.0.0.1:1080 with a 5 minute idle timeout and 16 sessions unless told otherwise', () => {
    expect(resolveProxyOptions({ target: TARGET })).toMatchObject({ localHost: '127.0.0.1', localPort: 1080, idleTimeoutMs: 300_000, maxSessions: 16 });
  });

  it('refuses bad values with ERR_INVALID_OPTION naming the option', () => {
    const cases: [Partial<ProxyOptions>, string][] = [
      [{ target: '' }, 'target'],
      [{ localHost: 'a b' }, 'localHost'],
      [{ localPort: 70000 }, 'localPort'],
      [{ maxSessions: 0 }, 'maxSessions'],
      [{ idleTimeoutMs: -1 }, 'idleTimeoutMs'],
      [{ allow: ['db.internal'] }, 'allow[0]'],
      [{ auth: { username: '', password: 'x' } }, 'auth'],
      [{ reconnect: { factor: 0.5 } }, 'reconnect.factor'],
    ];
    for (const [options, name] of cases) {
      const error = problem(options);
      expect(error, name).toMatchObject({ code: ErrorCode.INVALID_OPTION });
      expect((error as Error).message, name).toContain(name);
    }
  });

  it('never echoes a password in its error', () => {
    expect((problem({ auth: { username: 'me', password: '' } }) as Error).message).not.toContain('"password"');
  });
});
