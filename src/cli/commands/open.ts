import type { CommandModule } from 'yargs';
import { InvalidOptionError } from '../../errors.js';
import type { Tunnel } from '../../tunnel/tunnel.js';
import { formatHostPort } from '../../util/net.js';
import { ExitCode, signalExitCode } from '../exit-codes.js';
import { LOG_OPTIONS, type LogFormat } from '../log-options.js';
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
    // Signal handlers go in first, before anything loads: Ctrl-C at any stage of the start ends
    // the session it began (TerminateSession), instead of Node's default exit leaving it open.
    const stopping = new AbortController();
    let tunnel: Tunnel | undefined = undefined;
    const closeAndExit = (open: Tunnel): void => {
      open.close().then(
        () => process.exit(ExitCode.OK),
        (error: Error) => {
          process.stderr.write(`ssm-tunnel: closing the tunnel failed: ${error.message}\n`);
          process.exit(ExitCode.FAILURE);
        },
      );
    };
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping.signal.aborted) {
        process.stderr.write(`ssm-tunnel: second ${signal}: exiting at once\n`);
        process.exit(signalExitCode(signal));
      }
      stopping.abort();
      // Before the tunnel is up, openTunnel() hears the abort, ends the start and rejects (below).
      if (tunnel !== undefined) closeAndExit(tunnel);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // A closed terminal sends SIGHUP: end the session as Ctrl-C does rather than die leaving it open.
    process.on('SIGHUP', stop);
    const [{ openTunnel }, { createCliLogger }, { plainHttpEndpointWarning }] = await Promise.all([
      import('../../tunnel/tunnel.js'),
      import('../logger.js'),
      import('../../daemon/config-warnings.js'),
    ]);
    const logger = await createCliLogger({ level: args['log-level'], format: args['log-format'], fd: 2 });
    const socketPath = args['local-socket'];
    const endpointWarning = args.endpoint === undefined ? undefined : plainHttpEndpointWarning(args.endpoint);
    if (endpointWarning !== undefined) logger.warn(endpointWarning);
    tunnel = await openTunnel({
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
      signal: stopping.signal,
    }).catch((error: Error) => {
      // Stopped by a signal while starting: the start has been ended; that is a clean stop.
      if (stopping.signal.aborted) process.exit(ExitCode.OK);
      process.stderr.write(`ssm-tunnel: ${error.message}\n`);
      process.exit(error instanceof InvalidOptionError ? ExitCode.USAGE : ExitCode.FAILURE);
    });
    // A signal between openTunnel() resolving and here found no tunnel to close: close it now.
    if (stopping.signal.aborted) {
      closeAndExit(tunnel);
      return;
    }
    const locals = tunnel.localSocketPath !== undefined
      ? [`unix:${tunnel.localSocketPath}`]
      : tunnel.localAddresses.map(({ address, port }) => formatHostPort(address, port));
    const remote = formatHostPort(args['remote-host'] ?? tunnel.stats.targetId ?? args.target ?? 'target', args['remote-port']);
    process.stdout.write(`Forwarding ${locals.join(', ')} -> ${remote} (session ${tunnel.sessionId})\n`);
    process.stdout.write('Waiting for connections...\n');
  },
};

