import type { CommandModule } from 'yargs';
import { statusTable } from '../../daemon/status-table.js';
import { formatHostPort, isReady, type DaemonStatus } from '../../daemon/tunnel-status.js';
import { EXIT_INVALID_CONFIG } from './up.js';

interface StatusArgs {
  url: string;
  config?: string;
  json: boolean;
}

const DEFAULT_URL = 'http://127.0.0.1:9170';
const REQUEST_TIMEOUT_MS = 5000;

/** Exit statuses: every tunnel ready, some not, the config is unusable, the daemon cannot be reached. */
const EXIT_NOT_READY = 1;
const EXIT_UNREACHABLE = 3;

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: "Print a running daemon's tunnels (exit status 0: all ready, 1: some not, 3: no answer)",
  builder: (y) =>
    y
      .option('url', { type: 'string', default: DEFAULT_URL, describe: "The daemon's status endpoint" })
      .option('config', { alias: 'c', type: 'string', describe: "Take the endpoint from this config's status.listen" })
      .option('json', { type: 'boolean', default: false, describe: 'Print the JSON of GET /status' })
      .example('$0 status --config /etc/ssm-tunnel/tunnels.yaml', ''),
  handler: async (args) => {
    const base = args.config === undefined ? args.url : await urlFromConfig(args.config);
    const url = new URL('/status', base);
    let status: DaemonStatus;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
      status = (await response.json()) as DaemonStatus;
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      process.stderr.write(`ssm-tunnel: no status from ${url.href}: ${(error as Error).message}${cause}\n`);
      process.exit(EXIT_UNREACHABLE);
    }
    if (args.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    else process.stdout.write(statusTable(status));
    if (!status.tunnels.every(isReady)) process.exitCode = EXIT_NOT_READY;
  },
};

/** The status endpoint of a config; a wildcard listen address is reached over loopback. */
async function urlFromConfig(file: string): Promise<string> {
  const { formatConfigError, loadConfig } = await import('../../daemon/config.js');
  const loaded = await loadConfig(file);
  if ('errors' in loaded) {
    for (const error of loaded.errors) process.stderr.write(`${formatConfigError(error)}\n`);
    process.exit(EXIT_INVALID_CONFIG);
  }
  const { status } = loaded.config;
  if (status === undefined) {
    process.stderr.write(`ssm-tunnel: ${file} has no "status:" section, so the daemon serves no status endpoint\n`);
    process.exit(EXIT_INVALID_CONFIG);
  }
  const host = status.host === '0.0.0.0' ? '127.0.0.1' : status.host === '::' ? '::1' : status.host;
  return `http://${formatHostPort(host, status.port)}`;
}
