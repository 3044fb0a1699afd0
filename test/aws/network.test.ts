import { afterEach, describe, expect, it } from 'vitest';
import { checkProxyOption, proxyRoute } from '../../src/aws/network.js';
import { redactUrl } from '../../src/util/redact.js';

const PROXY_ENV = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];
const saved = new Map(PROXY_ENV.map((name) => [name, process.env[name]]));

function env(values: Record<string, string>): void {
  for (const name of PROXY_ENV) delete process.env[name];
  Object.assign(process.env, values);
}

afterEach(() => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('redactUrl', () => {
  it('hides the password and keeps the rest of the URL as written', () => {
    expect(redactUrl('http://alice:s3cret@proxy.corp:3128')).toBe('http://alice:***@proxy.corp:3128');
    expect(redactUrl('http://token@proxy.corp:3128/')).toBe('http://***@proxy.corp:3128/');
    expect(redactUrl('http://proxy.corp:3128')).toBe('http://proxy.corp:3128');
  });

  it('hides what sits before the @ of a URL it cannot parse', () => {
    expect(redactUrl('http://alice:s3cret@[bad')).toBe('http://***@[bad');
  });
});

describe('which proxy a connection takes', () => {
  const api = 'https://ssm.eu-west-1.amazonaws.com';

  it('takes HTTPS_PROXY for https and wss hosts, HTTP_PROXY for plain http, lower case first', () => {
    env({ HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128', HTTP_PROXY: 'http://plain:3128' });
    expect(proxyRoute(api, undefined)).toEqual({ url: 'http://lower:3128', reason: 'https_proxy' });
    expect(proxyRoute('http://127.0.0.1:8080', undefined)).toEqual({ url: 'http://plain:3128', reason: 'HTTP_PROXY' });
  });

  it('assumes http:// for a proxy written without a scheme, as curl does', () => {
    env({ HTTPS_PROXY: 'proxy.corp:3128' });
    expect(proxyRoute(api, undefined).url).toBe('http://proxy.corp:3128');
  });

  it('bypasses hosts NO_PROXY names: exact names, domain suffixes, ports and *', () => {
    env({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '.amazonaws.com' });
    expect(proxyRoute(api, undefined)).toEqual({ url: undefined, reason: 'NO_PROXY' });
    env({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'vpce.internal:8443' });
    expect(proxyRoute('https://vpce.internal:8443', undefined).url).toBeUndefined();
    expect(proxyRoute('https://vpce.internal:443', undefined).url).toBe('http://proxy:3128');
    env({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '*' });
    expect(proxyRoute(api, undefined).url).toBeUndefined();
  });

  it('lets the proxy option override the environment, and proxy: none turn it off', () => {
    env({ HTTPS_PROXY: 'http://env-proxy:3128' });
    expect(proxyRoute(api, 'http://option-proxy:8080')).toEqual({ url: 'http://option-proxy:8080', reason: 'proxy option' });
    expect(proxyRoute(api, 'none')).toEqual({ url: undefined, reason: 'proxy: none' });
  });

  it('goes direct when nothing is configured', () => {
    env({});
    expect(proxyRoute(api, undefined)).toEqual({ url: undefined, reason: 'no proxy configured' });
  });

  it('refuses a proxy option that is not an http(s) URL without echoing its password', () => {
    expect(() => checkProxyOption('socks5://bob:hunter2@proxy:1080')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => checkProxyOption('socks5://bob:hunter2@proxy:1080')).toThrow(/"socks5:\/\/bob:\*\*\*@proxy:1080"/);
    expect(() => checkProxyOption('http://bob:hunter2@proxy:1080')).not.toThrow();
  });
});
