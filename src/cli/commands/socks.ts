import type { CommandModule } from 'yargs';
import type { LevelWithSilent } from 'pino';
import { parseListenAddress, LISTEN_EXPECTED } from '../../daemon/config-hosts.js';
import { parseDuration } from '../../daemon/duration.js';
import { LOG_OPTIONS, type LogFormat } from '../log-options.js';
import { targetFromArgs, targetOptions, type TargetArgs } from '../target-options.js';
import { formatHostPort } from '../../util/net.js';
import { createCommandOutput } from '../command-output.js';
import { CONNECTION_OPTIONS, connectionFromArgs, type ConnectionArgs } from '../connection-options.js';

interface SocksArgs extends TargetArgs, ConnectionArgs {
  listen: string;
  allow?: string[];
  'idle-timeout': string;
  'max-sessions': number;
  'auth-file'?: string;
  'log-level': LevelWithSilent;
  'log-format': LogFormat;
}

export const socksCommand: CommandModule<object, SocksArgs> = {
  command: 'socks',
  describe: 'Serve SOCKS5 and HTTP CONNECT on one local port; each destination through its own session',
  builder: (y) =>
    targetOptions(y)
      .option('listen', { type: 'string', default: '127.0.0.1:1080', describe: 'Local address: host:port or [ipv6]:port; port 0 lets the OS choose' })
      .option('allow', { type: 'string', array: true, describe: 'Allowed destinations, host:port each (*.internal:443, 10.0.0.0/8:5432, db.example.com:*); default all' })
      .option('idle-timeout', { type: 'string', default: '5m', describe: "End a destination's session after this long without connections" })
      .option('max-sessions', { type: 'number', default: 16, describe: 'Destinations with a session at once' })
      .option('auth-file', { type: 'string', describe: 'Require the username:password on the first line of this file (SOCKS5 and HTTP Basic)' })
      .options(CONNECTION_OPTIONS)
      .options(LOG_OPTIONS)
      .check((argv) => {
        if (parseListenAddress(argv.listen) === undefined) throw new Error(`--listen must be ${LISTEN_EXPECTED}, got ${JSON.stringify(argv.listen)}`);
        parseDuration(argv['idle-timeout']);
        if (!Number.isInteger(argv['max-sessions']) || argv['max-sessions'] < 1) throw new Error('--max-sessions must be a whole number ≥ 1');
        return true;
      })
      .example('$0 socks --target i-0123456789abcdef0 --allow "*.internal:443" --allow "10.0.0.0/8:5432"', ''),
  handler: async (args) => {
    // Loaded here, not at the top: other commands should not pay for the proxy at start-up.
    const [{ openProxy }, { readFile }] = await Promise.all([import('../../proxy/proxy-server.js'), import('node:fs/promises')]);
    // On a terminal: one line per request and a live status line (as for open); otherwise pino's logs.
    const { logger, view } = await createCommandOutput(args['log-level'], args['log-format']);
    const listen = parseListenAddress(args.listen)!;
    const fail = (error: Error): never => {
      process.stderr.write(`ssm-tunnel: ${error.message}\n`);
      // Invalid options are usage errors (2); anything the service or network said is 1.
      process.exit(error instanceof TypeError ? 2 : 1);
    };
    let auth: { username: string; password: string } | undefined;
    if (args['auth-file'] !== undefined) {
      const line = (await readFile(args['auth-file'], 'utf8').catch(fail)).split(/\r?\n/)[0] ?? '';
      const colon = line.indexOf(':');
      if (colon <= 0) fail(new TypeError(`--auth-file ${args['auth-file']}: the first line must be username:password`));
      auth = { username: line.slice(0, colon), password: line.slice(colon + 1) };
    }
    const proxy = await openProxy({
      target: targetFromArgs(args),
      localHost: listen.host,
      localPort: listen.port,
      allow: args.allow,
      auth,
      idleTimeoutMs: parseDuration(args['idle-timeout']),
      maxSessions: args['max-sessions'],
      ...connectionFromArgs(args),
      logger,
    }).catch(fail);
    const locals = proxy.localAddresses.map(({ address, port }) => formatHostPort(address, port));
    const listening = `Proxy listening on ${locals.join(', ')} (SOCKS5 and HTTP CONNECT)`;
    // Scripts read this line from stdout; on a terminal the view shows it instead.
    if (view === undefined || process.stdout.isTTY !== true) process.stdout.write(`${listening}\n`);
    if (view !== undefined) {
      const { proxyEventSource } = await import('../proxy-event-source.js');
      view.info(listening);
      view.attach(proxyEventSource(proxy));
    }
    const stop = (): void => {
      void proxy.close().then(() => {
        view?.close();
        process.exit(0);
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
};
