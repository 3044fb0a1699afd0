import type { CommandModule } from 'yargs';
import { openTunnel } from '../../tunnel/tunnel.js';
import { createCliLogger, LOG_OPTIONS, type LogFormat } from '../logger.js';
import { targetFromArgs, targetOptions, type TargetArgs } from '../target-options.js';
import type { LevelWithSilent } from 'pino';

interface OpenArgs extends TargetArgs {
  'remote-host'?: string;
  'remote-port': number;
  'local-port': number;
  'local-host': string;
  'local-socket'?: string;
  'socket-mode'?: string;
  sessions: number;
  region?: string;
  profile?: string;
  endpoint?: string;
  proxy?: string;
  'ca-bundle'?: string;
  'keep-alive': boolean;
  'log-level': LevelWithSilent;
  'log-format': LogFormat;
}

export const openCommand: CommandModule<object, OpenArgs> = {
  command: 'open',
  describe: 'Open one tunnel and keep it up until Ctrl-C',
  builder: (y) =>
    targetOptions(y)
      .option('remote-host', { type: 'string', describe: 'Destination as seen from the target (default: the target itself)' })
      .option('remote-port', { type: 'number', demandOption: true, describe: 'Destination port' })
      .option('local-port', { type: 'number', default: 0, describe: 'Local port; 0 lets the OS choose' })
      .option('local-host', { type: 'string', default: '127.0.0.1', describe: 'Local address to listen on' })
      .option('local-socket', { type: 'string', describe: 'Listen on this unix socket instead of TCP' })
      .option('socket-mode', { type: 'string', describe: 'Permissions of the unix socket, octal, e.g. 0660' })
      .option('sessions', { type: 'number', default: 1, describe: 'SSM sessions to spread connections over' })
      .option('region', { type: 'string', describe: 'AWS region (default: from the environment/profile)' })
      .option('profile', { type: 'string', describe: 'AWS profile, SSO profiles included' })
      .option('endpoint', { type: 'string', describe: 'SSM endpoint URL (VPC endpoint, or the emulator)' })
      .option('proxy', { type: 'string', describe: 'Outbound proxy for the API and the data channel: http://[user:pass@]host:port, or none (default: HTTPS_PROXY/NO_PROXY)' })
      .option('ca-bundle', { type: 'string', describe: "PEM file of CAs to trust besides Node's (default: AWS_CA_BUNDLE, then the profile's ca_bundle)" })
      .option('keep-alive', { type: 'boolean', default: false, describe: "Keep the session from reaching the service's idle timeout" })
      .options(LOG_OPTIONS)
      .check((argv) => {
        if (argv['socket-mode'] !== undefined && !/^0?[0-7]{3}$/.test(argv['socket-mode'])) throw new Error('--socket-mode must be octal permissions such as 0660');
        if (!Number.isInteger(argv.sessions) || argv.sessions < 1) throw new Error('--sessions must be a whole number ≥ 1');
        for (const [name, min] of [['remote-port', 1], ['local-port', 0]] as const) {
          const value = argv[name];
          if (!Number.isInteger(value) || value < min || value > 65535) throw new Error(`--${name} must be an integer ${min}–65535`);
        }
        return true;
      })
      .example('$0 open --target i-0123456789abcdef0 --remote-host db.internal --remote-port 5432 --local-port 15432', '')
      .example('$0 open --ecs-cluster prod --ecs-service api --remote-host db.internal --remote-port 5432', 'through a running task of an ECS service'),
  handler: async (args) => {
    const logger = createCliLogger({ level: args['log-level'], format: args['log-format'], fd: 2 });
    const socketPath = args['local-socket'];
    const tunnel = await openTunnel({
      target: targetFromArgs(args),
      remoteHost: args['remote-host'],
      remotePort: args['remote-port'],
      ...(socketPath === undefined
        ? { localHost: args['local-host'], localPort: args['local-port'] }
        : { localSocket: { path: socketPath, mode: args['socket-mode'] === undefined ? undefined : parseInt(args['socket-mode'], 8) } }),
      sessions: args.sessions,
      region: args.region,
      profile: args.profile,
      endpoint: args.endpoint,
      proxy: args.proxy,
      caBundle: args['ca-bundle'],
      keepAlive: args['keep-alive'],
      logger,
    }).catch((error: Error) => {
      process.stderr.write(`ssm-tunnel: ${error.message}\n`);
      // Invalid options are usage errors (2); anything the service or network said is 1.
      process.exit(error instanceof TypeError ? 2 : 1);
    });
    const locals = tunnel.localSocketPath !== undefined
      ? [`unix:${tunnel.localSocketPath}`]
      : tunnel.localAddresses.map(({ address, port }) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`));
    const remote = `${args['remote-host'] ?? tunnel.stats.targetId ?? args.target}:${args['remote-port']}`;
    process.stdout.write(`Forwarding ${locals.join(', ')} -> ${remote} (session ${tunnel.sessionId})\n`);
    process.stdout.write('Waiting for connections...\n');
    const stop = (): void => {
      void tunnel.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
};

