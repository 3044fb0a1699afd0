import { Tunnel } from '../../../src/index.js';
import { measureMemory, pickStats, tunnelOptions, type ClientConfig } from './client-under-test.js';
import type { ClientReply, ClientRequest } from './client-process.js';

/*
 * The soak's client process: one tunnel (Tunnel.start, listening at once) and nothing else, so its
 * memory is the client's own. Forked by client-process.ts with an IPC channel and --expose-gc; it
 * reports `ready` with the local port, answers `stats` and `memory`, and exits on `close`.
 */

function reply(message: ClientReply): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.FAULT_CLIENT_CONFIG ?? '') as ClientConfig;
  let tunnel: Tunnel;
  try {
    tunnel = await Tunnel.start(tunnelOptions(config));
  } catch (error) {
    reply({ type: 'error', id: 0, message: `Tunnel.start failed: ${(error as Error).message}` });
    process.exit(1);
  }
  process.on('message', (request: ClientRequest) => {
    switch (request.type) {
      case 'stats':
        reply({ type: 'stats', id: request.id, stats: pickStats(tunnel.stats) });
        return;
      case 'memory':
        reply({ type: 'memory', id: request.id, memory: measureMemory() });
        return;
      case 'close':
        void tunnel.close().finally(() => process.exit(0));
        return;
    }
  });
  reply({ type: 'ready', id: 0, localPort: tunnel.localPort });
}

// The driver is gone: nobody can ask for anything any more.
process.on('disconnect', () => process.exit(0));
await main();
