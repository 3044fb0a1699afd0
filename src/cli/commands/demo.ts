import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LevelWithSilent } from 'pino';
import type { CommandModule } from 'yargs';
import type { Tunnel } from '../../tunnel/tunnel.js';
import { LOG_OPTIONS, type LogFormat } from '../log-options.js';

interface DemoArgs {
  once: boolean;
  'local-port': number;
  'log-level': LevelWithSilent;
  'log-format': LogFormat;
}

const DEMO_TARGET = 'i-0123456789abcdef0';
const SELF_CHECK_TIMEOUT_MS = 15_000;
/** Quieter than other commands: the demo's own lines tell the story; warnings still show. */
const DEMO_LOG_LEVEL: LevelWithSilent = 'warn';

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Try it without AWS: the emulator, a small web server behind it and a tunnel to it, in one process',
  builder: (y) =>
    y
      .option('once', { type: 'boolean', default: false, describe: 'Exit after the self-check instead of running until Ctrl-C' })
      .option('local-port', { type: 'number', default: 0, describe: "The tunnel's local port; 0 lets the OS choose" })
      .options({ ...LOG_OPTIONS, 'log-level': { ...LOG_OPTIONS['log-level'], default: DEMO_LOG_LEVEL } }),
  handler: async (args) => {
    const [{ startEmulator }, { openTunnel }, { createCliLogger }] = await Promise.all([
      import('../../emulator/index.js'),
      import('../../tunnel/tunnel.js'),
      import('../logger.js'),
    ]);
    const logger = await createCliLogger({ level: args['log-level'], format: args['log-format'], fd: 2 });
    const say = (line = ''): void => void process.stdout.write(`${line}\n`);

    const destination = await startDestination();
    const destinationPort = (destination.address() as AddressInfo).port;
    say(`1. A web server (the "private" destination) listens on 127.0.0.1:${destinationPort}.`);

    // Paced like the real agent, so what you see is close to what AWS gives.
    const emulator = await startEmulator({ targets: { [DEMO_TARGET]: { computerName: 'demo-node' } }, pacing: true, logger: logger.child({ component: 'emulator' }) });
    say(`2. The SSM emulator (service API + agent) answers at ${emulator.endpoint}, with one managed node, ${DEMO_TARGET}.`);

    let tunnel: Tunnel;
    try {
      tunnel = await openTunnel({
        target: DEMO_TARGET,
        remotePort: destinationPort,
        localPort: args['local-port'],
        endpoint: emulator.endpoint,
        region: emulator.region,
        credentials: { ...emulator.credentials },
        logger: logger.child({ component: 'tunnel' }),
      });
    } catch (error) {
      process.stderr.write(`ssm-tunnel demo: the tunnel did not come up: ${(error as Error).message}\n`);
      await Promise.all([emulator.close(), closeServer(destination)]);
      process.exit(1);
    }
    const { mode, agentVersion } = tunnel.stats;
    say(`3. A tunnel listens on 127.0.0.1:${tunnel.localPort}: SSM session ${tunnel.sessionId}, agent ${agentVersion}, ${mode} mode.`);

    const stop = async (code: number): Promise<never> => {
      await tunnel.close();
      await Promise.all([emulator.close(), closeServer(destination)]);
      process.exit(code);
    };

    say(`4. Self-check: GET http://127.0.0.1:${tunnel.localPort}/ through the tunnel...`);
    try {
      const answer = await httpGet(tunnel.localPort);
      say(`   ${answer.trimEnd()}`);
    } catch (error) {
      process.stderr.write(`ssm-tunnel demo: the self-check failed: ${(error as Error).message}\n`);
      return stop(1);
    }
    if (args.once) return stop(0);

    say();
    say('Try it yourself:');
    say(`   curl http://127.0.0.1:${tunnel.localPort}/`);
    say('Press Ctrl-C to stop.');
    const onSignal = (): void => void stop(0);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  },
};

async function startDestination(): Promise<Server> {
  const { createServer } = await import('node:http');
  let requests = 0;
  const server = createServer((request, response) => {
    requests += 1;
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    response.end(`Hello from the web server behind ${DEMO_TARGET}: ${request.method} ${request.url}, request #${requests}, carried by SSM Session Manager (emulated).\n`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function httpGet(port: number): Promise<string> {
  const { get } = await import('node:http');
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: SELF_CHECK_TIMEOUT_MS }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode === 200) resolve(body);
        else reject(new Error(`HTTP ${response.statusCode}: ${body}`));
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${SELF_CHECK_TIMEOUT_MS} ms`)));
    request.on('error', reject);
  });
}
