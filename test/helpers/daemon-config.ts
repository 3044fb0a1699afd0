/*
 * Daemon config files for tests: tunnels through a running emulator, with short retry delays.
 */
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export interface TestTunnel {
  name: string;
  target: string;
  remotePort: number;
  remoteHost?: string;
  /** Default 0: any free port (read it from /status). */
  localPort?: number;
  /** Extra per-tunnel keys, e.g. `{ connectTimeout: '5s' }`. */
  extra?: Record<string, unknown>;
}

export interface TestDaemonConfig {
  emulator: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  tunnels: TestTunnel[];
  /** `status.listen`; absent: no status endpoint. */
  status?: string | number;
  shutdownGrace?: string;
  logLevel?: string;
}

export function daemonConfigYaml(config: TestDaemonConfig): string {
  const { emulator } = config;
  const document: Record<string, unknown> = {
    defaults: {
      region: emulator.region,
      endpoint: emulator.endpoint,
      credentials: { accessKeyId: emulator.credentials.accessKeyId, secretAccessKey: emulator.credentials.secretAccessKey },
      reconnect: { initialDelay: '50ms', maxDelay: '500ms', factor: 2 },
      connectTimeout: '10s',
    },
    log: { level: config.logLevel ?? 'info', format: 'json' },
    shutdownGrace: config.shutdownGrace ?? '2s',
    tunnels: config.tunnels.map((tunnel) => ({
      name: tunnel.name,
      target: tunnel.target,
      remote: tunnel.remoteHost === undefined ? { port: tunnel.remotePort } : { host: tunnel.remoteHost, port: tunnel.remotePort },
      local: { port: tunnel.localPort ?? 0 },
      ...tunnel.extra,
    })),
  };
  if (config.status !== undefined) document.status = { listen: config.status };
  return stringify(document);
}

export async function writeDaemonConfig(path: string, config: TestDaemonConfig): Promise<void> {
  await writeFile(path, daemonConfigYaml(config));
}
