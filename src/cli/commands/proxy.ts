import type { CommandModule } from 'yargs';
import type { LevelWithSilent } from 'pino';
import { LOG_LEVELS, LOG_OPTIONS, type LogFormat } from '../log-options.js';
import type { SsmStream } from '../../stream/ssm-stream.js';
import { targetFromArgs, targetOptions, type TargetArgs } from '../target-options.js';
import { CONNECTION_OPTIONS, connectionFromArgs, type ConnectionArgs } from '../connection-options.js';

/*
 * `ssm-tunnel proxy`: one connection over stdin/stdout, for ssh's ProxyCommand. ssh starts it for
 * every connection, so this module imports nothing heavy until the handler runs. stdout carries the
 * destination's bytes and nothing else; logs and errors go to stderr.
 */

interface ProxyArgs extends TargetArgs, ConnectionArgs {
  host?: string;
  port?: number;
  'remote-host'?: string;
  'remote-port'?: number;
  document?: string;
  'log-level': LevelWithSilent;
  'log-format': LogFormat;
}

/** Quiet by default: ssh shows stderr to the user on every connection. */
const DEFAULT_LEVEL: LevelWithSilent = 'warn';
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export const proxyCommand: CommandModule<object, ProxyArgs> = {
  command: 'proxy [host] [port]',
  describe: 'Carry one connection over stdin/stdout, for ssh ProxyCommand',
  builder: (y) =>
    targetOptions(
      y
        .positional('host', { type: 'string', describe: 'The target (i-..., mi-..., name:<Name tag>), as ssh passes %h; or use --target' })
        .positional('port', { type: 'number', describe: 'Destination port, as ssh passes %p; or use --remote-port' })
        // HOST is --target given positionally, before targetOptions checks that exactly one target is named.
        .middleware((argv) => {
          if (argv.host !== undefined && argv.target === undefined) argv.target = argv.host;
        }, true),
    )
      .option('remote-host', { type: 'string', describe: 'Destination as seen from the target (default: the target itself)' })
      .option('remote-port', { type: 'number', describe: 'Destination port (default 22)' })
      .option('document', { type: 'string', describe: 'Session document (default AWS-StartSSHSession; with --remote-host AWS-StartPortForwardingSessionToRemoteHost)' })
      .options(CONNECTION_OPTIONS)
      .option('log-level', { choices: LOG_LEVELS, default: DEFAULT_LEVEL, describe: 'Log level (logs go to stderr)' })
      .option('log-format', LOG_OPTIONS['log-format'])
      .check((argv) => {
        if (argv.host !== undefined && argv.target !== argv.host) throw new Error('name the target once: HOST or --target');
        if (argv.port !== undefined && argv['remote-port'] !== undefined) throw new Error('give the port once: PORT or --remote-port');
        const port = argv.port ?? argv['remote-port'];
        if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new Error('the port must be an integer 1-65535');
        return true;
      })
      .example('$0 proxy i-0123456789abcdef0 22', 'in ~/.ssh/config: ProxyCommand ssm-tunnel proxy %h %p')
      .example('$0 proxy --target name:bastion --remote-host 10.0.1.5 --remote-port 22', 'a host behind the target'),
  handler: async (args) => {
    const [{ openStream }, { createCliLogger }, { errorCode }] = await Promise.all([
      import('../../stream/ssm-stream.js'),
      import('../logger.js'),
      import('../../errors.js'),
    ]);
    const logger = await createCliLogger({ level: args['log-level'], format: args['log-format'], fd: 2 });
    // One line, code first: `ssm-tunnel proxy: TargetNotConnected: StartSession for target i-… failed: …`.
    const fail = (error: unknown, status: number): never => {
      const code = errorCode(error);
      process.stderr.write(`ssm-tunnel proxy: ${code}: ${(error as Error).message.replace(`${code}: `, '')}\n`);
      process.exit(status);
    };
    // A signal before the session is up cancels the start; after, it closes the stream.
    const abort = new AbortController();
    let stream: SsmStream | undefined;
    for (const signal of SIGNALS) {
      process.once(signal, () => {
        logger.info({ signal }, 'ending the session');
        if (stream === undefined) abort.abort();
        else void stream.close().then(() => process.exit(0));
      });
    }
    const port = args.port ?? args['remote-port'];
    try {
      stream = await openStream({
        target: targetFromArgs(args),
        ...(args['remote-host'] === undefined ? {} : { remoteHost: args['remote-host'] }),
        ...(port === undefined ? {} : { remotePort: port }),
        ...(args.document === undefined ? {} : { document: args.document }),
        ...connectionFromArgs(args),
        logger,
        signal: abort.signal,
      });
    } catch (error) {
      if (abort.signal.aborted) process.exit(0);
      // Invalid options are usage errors (2); anything the service or network said is 1.
      return fail(error, error instanceof TypeError ? 2 : 1);
    }
    const opened = stream;
    let failure: Error | undefined;
    opened.on('error', (error) => {
      failure = error;
    });
    // ssh gone (EPIPE) or stdin unreadable: nobody is left to talk to; end the session.
    process.stdout.on('error', () => opened.destroy());
    process.stdin.on('error', () => opened.destroy());
    process.stdin.pipe(opened);
    opened.pipe(process.stdout);
    opened.once('close', () => {
      if (failure !== undefined) fail(failure, 1);
      process.exit(0);
    });
  },
};
