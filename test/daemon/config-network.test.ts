import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfig, type DaemonConfig } from '../../src/daemon/config.js';

function valid(text: string): DaemonConfig {
  const result = parseConfig(text, 'tunnels.yaml');
  if ('errors' in result) throw new Error(result.errors.map(formatConfigError).join('\n'));
  return result.config;
}

const CONFIG = `defaults:
  proxy: http://alice:s3cret@proxy.corp:3128
  caBundle: /etc/ssl/corp-ca.pem
tunnels:
  - name: db
    target: i-0123456789abcdef0
    remote: { port: 5432 }
    local: { port: 15432 }
  - name: direct
    target: i-0123456789abcdef0
    remote: { port: 6379 }
    local: { port: 16379 }
    proxy: none
    caBundle: /etc/ssl/other.pem
`;

describe('proxy and caBundle in the daemon config', () => {
  it('are inherited from defaults: and overridden per tunnel', () => {
    const [db, direct] = valid(CONFIG).tunnels;
    expect(db).toMatchObject({ proxy: 'http://alice:s3cret@proxy.corp:3128', caBundle: '/etc/ssl/corp-ca.pem' });
    expect(direct).toMatchObject({ proxy: 'none', caBundle: '/etc/ssl/other.pem' });
  });

  it('reports a bad proxy at its line and column without echoing it', () => {
    const result = parseConfig(CONFIG.replace('http://alice:s3cret@proxy.corp:3128', 'ftp://alice:s3cret@proxy.corp'), 'tunnels.yaml');
    expect('errors' in result).toBe(true);
    const messages = 'errors' in result ? result.errors.map(formatConfigError) : [];
    expect(messages).toEqual([expect.stringMatching(/^tunnels\.yaml:2:10 defaults\.proxy: expected none, or a proxy URL/)]);
    expect(messages.join('\n')).not.toContain('s3cret');
  });

  it('reports proxy at the top level as misplaced', () => {
    const result = parseConfig(`proxy: none\n${CONFIG}`, 'tunnels.yaml');
    const messages = 'errors' in result ? result.errors.map(formatConfigError) : [];
    expect(messages.join('\n')).toMatch(/proxy.*belongs under "defaults:" or in a tunnel/);
  });
});
