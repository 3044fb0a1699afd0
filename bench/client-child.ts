import { openTunnel, type Tunnel } from '../src/index.js';
import type { ChildReply, ChildRequest, ClientChildConfig } from './child-protocol.js';

/*
 * The client process of the benchmark: one tunnel, opened with openTunnel() against the emulator,
 * and nothing else, so that its CPU time and memory are the client's own. The driver forks it with
 * an IPC channel and `--expose-gc`; it reports `ready` with the local port, answers `usage`, and
 * exits on `close`.
 */

function reply(message: ChildReply): void {
  process.send?.(message);
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Twice: the first pass can leave garbage that finalizers of the first pass released.
  gc?.();
  gc?.();
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.BENCH_CLIENT_CONFIG ?? '') as ClientChildConfig;
  let tunnel: Tunnel;
  try {
    tunnel = await openTunnel({
      target: config.target,
      remotePort: config.remotePort,
      endpoint: config.endpoint,
      region: config.region,
      credentials: config.credentials,
      localPort: 0,
      connectTimeoutMs: 20_000,
    });
  } catch (error) {
    reply({ type: 'error', message: `openTunnel failed: ${(error as Error).message}` });
    process.exit(1);
  }
  process.on('message', (request: ChildRequest) => {
    if (request.type === 'usage') {
      if (request.gc) collectGarbage();
      const memory = process.memoryUsage();
      reply({
        type: 'usage',
        cpu: process.cpuUsage(),
        memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external },
        openConnections: tunnel.stats.openConnections,
      });
    } else if (request.type === 'close') {
      // process.exit, not a drained event loop: --cpu-prof writes its profile on exit either way.
      void tunnel.close().finally(() => process.exit(0));
    }
  });
  reply({ type: 'ready', localPort: tunnel.localPort });
}

// The driver's IPC channel is gone: nobody can ask for anything any more.
process.on('disconnect', () => process.exit(0));
await main();
