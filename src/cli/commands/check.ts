import type { CommandModule } from 'yargs';
import { formatConfigError, loadConfig } from '../../daemon/config.js';
import { checkProxyOption } from '../../aws/network.js';
import { networkTable, preflightTable, preflightTunnels } from '../../daemon/preflight.js';
import { definitionsTable } from '../../daemon/status-table.js';
import { formatHostPort } from '../../daemon/tunnel-status.js';
import { EXIT_INVALID_CONFIG } from './up.js';

interface CheckArgs {
  config: string;
  connect: boolean;
  proxy?: string;
  'ca-bundle'?: string;
}

/** `--connect`: some tunnel's destination is not reachable. */
const EXIT_UNREACHABLE = 1;

export const checkCommand: CommandModule<object, CheckArgs> = {
  command: 'check',
  describe: 'Validate a config file and print the tunnels it would run (exit status 2 when invalid; with --connect, 1 when a destination is not reachable)',
  builder: (y) =>
    y
      .option('config', { alias: 'c', type: 'string', demandOption: true, describe: 'YAML config file' })
      .option('connect', {
        type: 'boolean',
        default: false,
        describe: "Also start each tunnel's session once, open one connection to its destination, report reachable / refused / denied / failed, and end the session",
      })
      .option('proxy', { type: 'string', describe: "With --connect: this proxy (URL or none) instead of the config's and the environment's" })
      .option('ca-bundle', { type: 'string', describe: "With --connect: this PEM file of CAs instead of the config's, AWS_CA_BUNDLE and the profile's" })
      .example('$0 check --config tunnels.yaml', '')
      .example('$0 check --config tunnels.yaml --connect', 'pre-flight: can every destination be reached?'),
  handler: async (args) => {
    const loaded = await loadConfig(args.config);
    if ('errors' in loaded) {
      for (const error of loaded.errors) process.stderr.write(`${formatConfigError(error)}\n`);
      process.stderr.write(`${args.config}: invalid (${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'})\n`);
      process.exit(EXIT_INVALID_CONFIG);
    }
    const { config } = loaded;
    const lines = [`${args.config}: valid, ${config.tunnels.length} tunnel${config.tunnels.length === 1 ? '' : 's'}`, ''];
    lines.push(definitionsTable(config.tunnels));
    const status = config.status;
    lines.push(status ? `Status endpoint: http://${formatHostPort(status.host, status.port)}/status` : 'Status endpoint: off');
    for (const tunnel of config.tunnels.filter((t) => t.exposed)) {
      lines.push(`Warning: ${tunnel.name} listens on ${tunnel.localHost}, which other machines can reach`);
    }
    if (status?.exposed) lines.push(`Warning: the status endpoint listens on ${status.host}, which other machines can reach`);
    process.stdout.write(`${lines.join('\n')}\n`);
    if (!args.connect) return;
    const tunnels = config.tunnels.map((tunnel) => ({
      ...tunnel,
      ...(args.proxy === undefined ? {} : { proxy: args.proxy }),
      ...(args['ca-bundle'] === undefined ? {} : { caBundle: args['ca-bundle'] }),
    }));
    try {
      for (const tunnel of tunnels) checkProxyOption(tunnel.proxy, '--proxy');
    } catch (error) {
      process.stderr.write(`ssm-tunnel check: ${(error as Error).message}\n`);
      process.exit(EXIT_INVALID_CONFIG);
    }
    process.stdout.write(`\nNetwork (proxy for the API endpoint, CAs trusted):\n\n${await networkTable(tunnels)}\n`);
    process.stdout.write('\nConnecting to each destination once...\n\n');
    const results = await preflightTunnels(tunnels);
    process.stdout.write(preflightTable(results, tunnels));
    if (results.some((result) => result.outcome !== 'reachable')) process.exitCode = EXIT_UNREACHABLE;
  },
};
