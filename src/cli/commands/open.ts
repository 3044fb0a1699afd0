import type { CommandModule } from 'yargs';
import { InvalidOptionError } from '../../errors.js';
import type { Tunnel } from '../../tunnel/tunnel.js';
import { formatHostPort } from '../../util/net.js';
import { ExitCode, signalExitCode } from '../exit-codes.js';
import { createCommandOutput } from '../command-output.js';
import { LOG_OPTIONS, type LogFormat } from '../log-options.js';
import { hasTarget, targetFromArgs, targetOptions, type TargetArgs } from '../target-options.js';
import { canPrompt } from '../terminal.js';
import type { TerminalView } from '../terminal-view.js';
import type { AwsConnectionOptions } from '../../aws/session-api.js';
import type { LevelWithSilent } from 'pino';
import { CONNECTION_OPTIONS, connectionFromArgs, type ConnectionArgs } from '../connection-options.js';

interface OpenArgs extends TargetArgs, ConnectionArgs {
  'remote-host'?: string;
  'remote-port': number;
  'local-port': number;
  'local-host': string;
  'local-socket'?: string;
  'socket-mode'?: string;
  sessions: number;
  'keep-alive': boolean;
  'log-level': LevelWithSilent;
  'log-format': LogFormat;
}

export const openCommand: CommandModule<object, OpenArgs> = {
  command: 'open',
  describe: 'Open one tunnel and keep it up until Ctrl-C',
  builder: (y) =>
    targetOptions(y, { canPick: canPrompt })
      .option('remote-host', { type: 'string', describe: 'Destination as seen from the target (default: the target itself)' })
      .option('remote-port', { type: 'number', demandOption: true, describe: 'Destination port' })
      .option('local-port', { type: 'number', default: 0, describe: 'Local port; 0 lets the OS choose' })
      .option('local-host', { type: 'string', default: '127.0.0.1', describe: 'Local address to listen on' })
      .option('local-socket', { type: 'string', describe: 'Listen on this unix socket instead of TCP' })
      .option('socket-mode', { type: 'string', describe: 'Permissions of the unix socket, octal, e.g. 0660' })
      .option('sessions', { type: 'number', default: 1, describe: 'SSM sessions to spread connections over' })
      .options(CONNECTION_OPTIONS)
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
    let view: TerminalView | undefined = undefined;
    const closeAndExit = (open: Tunnel): void => {
      view?.close();
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
    const connection = connectionFromArgs(args);
    const { configuredRegion } = await import('../../aws/region.js');
    if ((await configuredRegion(connection)) === undefined) {
      const { missingRegionError } = await import('../explain-error.js');
      throw missingRegionError(args.profile);
    }
    if (!hasTarget(args)) args.target = await pickTargetFor(args, connection);
    const [{ openTunnel }, { plainHttpEndpointWarning }] = await Promise.all([import('../../tunnel/tunnel.js'), import('../../daemon/config-warnings.js')]);
    const { logger, view: terminalView } = await createCommandOutput(args['log-level'], args['log-format']);
    view = terminalView;
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
      ...connection,
      keepAlive: args['keep-alive'],
      logger,
      signal: stopping.signal,
    }).catch(async (error: Error) => {
      view?.close();
      // Stopped by a signal while starting: the start has been ended; that is a clean stop.
      if (stopping.signal.aborted) process.exit(ExitCode.OK);
      const { explainOpenError } = await import('../explain-error.js');
      const explained = await explainOpenError(error, { ...connection, target: args.target });
      process.stderr.write(`ssm-tunnel: ${explained instanceof Error ? explained.message : String(explained)}\n`);
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
    const forwarding = `Forwarding ${locals.join(', ')} -> ${remote} (session ${tunnel.sessionId})`;
    if (view === undefined || process.stdout.isTTY !== true) {
      // Scripts read these two lines from stdout; on a terminal the view shows the first instead.
      process.stdout.write(`${forwarding}\n`);
      process.stdout.write('Waiting for connections...\n');
    }
    view?.info(forwarding);
    view?.attach(tunnel);
  },
};



/** The picker: the online nodes, one chosen by a person; then the command line that names it. */
async function pickTargetFor(args: OpenArgs, connection: AwsConnectionOptions): Promise<string> {
  const [{ createSsmSessionApi }, { listNodes }, { pickTarget, shellCommand }, { saveTargets }, { explainError }] = await Promise.all([
    import('../../aws/ssm-session-api.js'),
    import('../node-list.js'),
    import('../target-picker.js'),
    import('../target-cache.js'),
    import('../explain-error.js'),
  ]);
  const api = createSsmSessionApi(connection);
  let listing;
  try {
    listing = await listNodes(api, { onlineOnly: true });
  } catch (error) {
    throw await explainError(error, args.profile === undefined ? {} : { profile: args.profile });
  } finally {
    api.destroy();
  }
  await saveTargets(listing.nodes.map((node) => ({ id: node.id, ...(node.name === undefined ? {} : { name: node.name }) })));
  const target = await pickTarget(listing.nodes);
  const argv = process.argv.slice(2);
  const at = argv.indexOf('open');
  process.stderr.write(`Running: ${shellCommand(['ssm-tunnel', ...argv.slice(0, at + 1), '--target', target, ...argv.slice(at + 1)])}\n`);
  return target;
}
