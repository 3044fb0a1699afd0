import type { CommandModule } from 'yargs';
import { openTunnel } from '../../tunnel/tunnel.js';
import { createCliLogger, LOG_OPTIONS, type LogFormat } from '../logger.js';
import type { LevelWithSilent } from 'pino';

interface OpenArgs {
  target: string;
  'remote-host'?: string;
  'remote-port': number;
  'local-port': number;
  'local-host': string;
  region?: string;
  profile?: string;
  endpoint?: string;
  'keep-alive': boolean;
  'log-level': LevelWithSilent;
  'log-format': LogFormat;
}

export const openCommand: CommandModule<object, OpenArgs> = {
  command: 'open',
  describe: 'Open one tunnel and keep it up until Ctrl-C',
  builder: (y) =>
    y
      .option('target', { type: 'string', demandOption: true, describe: 'Instance or managed node id (i-…, mi-…)' })
      .option('remote-host', { type: 'string', describe: 'Destination as seen from the target (default: the target itself)' })
      .option('remote-port', { type: 'number', demandOption: true, describe: 'Destination port' })
      .option('local-port', { type: 'number', default: 0, describe: 'Local port; 0 lets the OS choose' })
      .option('local-host', { type: 'string', default: '127.0.0.1', describe: 'Local address to listen on' })
      .option('region', { type: 'string', describe: 'AWS region (default: from the environment/profile)' })
      .option('profile', { type: 'string', describe: 'AWS profile, SSO profiles included' })
      .option('endpoint', { type: 'string', describe: 'SSM endpoint URL (VPC endpoint, or the emulator)' })
      .option('keep-alive', { type: 'boolean', default: false, describe: "Keep the session from reaching the service's idle timeout" })
      .options(LOG_OPTIONS)
      .check((argv) => {
        for (const [name, min] of [['remote-port', 1], ['local-port', 0]] as const) {
          const value = argv[name];
          if (!Number.isInteger(value) || value < min || value > 65535) throw new Error(`--${name} must be an integer ${min}–65535`);
        }
        return true;
      })
      .example('$0 open --target i-0123456789abcdef0 --remote-host db.internal --remote-port 5432 --local-port 15432', ''),
  handler: async (args) => {
    const logger = createCliLogger({ level: args['log-level'], format: args['log-format'], fd: 2 });
    const tunnel = await openTunnel({
      target: args.target,
      remoteHost: args['remote-host'],
      remotePort: args['remote-port'],
      localHost: args['local-host'],
      localPort: args['local-port'],
      region: args.region,
      profile: args.profile,
      endpoint: args.endpoint,
      keepAlive: args['keep-alive'],
      logger,
    }).catch((error: Error) => {
      process.stderr.write(`ssm-tunnel: ${error.message}\n`);
      // Invalid options are usage errors (2); anything the service or network said is 1.
      process.exit(error instanceof TypeError ? 2 : 1);
    });
    const { address, port } = tunnel.localAddress;
    const local = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    process.stdout.write(`Forwarding ${local} -> ${args['remote-host'] ?? args.target}:${args['remote-port']} (session ${tunnel.sessionId})\n`);
    process.stdout.write('Waiting for connections...\n');
    const stop = (): void => {
      void tunnel.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
};
