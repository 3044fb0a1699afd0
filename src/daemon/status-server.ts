/*
 * The daemon's HTTP status endpoint: GET /healthz for probes, /status as JSON, /metrics for
 * Prometheus. Read-only; loopback unless the config says otherwise. Any local user can talk to it,
 * so no request may end the daemon or hold it: odd request targets get a 400, on loopback other
 * Host names a 403 (DNS rebinding), slow requests time out, and the connections it keeps are capped.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logging.js';
import { isExpectedHostHeader, originFormPath } from '../util/http-request.js';
import { isLoopbackHost } from '../util/net.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { ErrorCode, SsmTunnelError } from '../errors.js';
import { formatHostPort } from '../util/net.js';
import { isReady, type DaemonStatus } from './tunnel-status.js';

/** Headers and the whole request must arrive this fast: a scraper sends a few hundred bytes. */
const REQUEST_TIMEOUT_MS = 5000;
/** Probes and scrapers use a handful of connections; more are somebody holding sockets open. */
const MAX_CONNECTIONS = 64;

export class StatusServer {
  private readonly server: Server;

  private constructor(server: Server) {
    this.server = server;
  }

  /** Listens on `host:port` and answers from `status()` at each request. */
  static async start(listen: { host: string; port: number }, status: () => DaemonStatus, logger: Logger): Promise<StatusServer> {
    const server = createServer({ headersTimeout: REQUEST_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }, (request, response) => {
      try {
        answer(request, response, listen.host, status);
      } catch (error) {
        // A bug in one answer must not end the daemon and its tunnels.
        logger.error({ err: (error as Error).message, path: request.url }, 'status endpoint failed to answer a request');
        if (response.headersSent) response.destroy();
        else reply(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      }
    });
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        const why = error.code === 'EADDRINUSE' ? 'the address is already in use' : error.message;
        reject(new SsmTunnelError(ErrorCode.LISTEN, `cannot listen on ${formatHostPort(listen.host, listen.port)} for the status endpoint: ${why}`, { cause: error }));
      });
      server.listen({ host: listen.host, port: listen.port }, () => resolve());
    });
    server.on('error', (error) => logger.error({ err: error.message }, 'status endpoint failed'));
    const { address, port } = server.address() as AddressInfo;
    logger.info({ url: `http://${formatHostPort(address, port)}/status` }, 'status endpoint listening');
    return new StatusServer(server);
  }

  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

function answer(request: IncomingMessage, response: ServerResponse, listenHost: string, status: () => DaemonStatus): void {
  const path = originFormPath(request.url);
  if (path === undefined) {
    reply(response, 400, 'text/plain; charset=utf-8', 'the request target must be a path such as /status\n');
    return;
  }
  // On loopback, a Host name other than an address is a web page that rebound its name to us. An
  // exposed endpoint was asked for (and warned about); scrapers may reach it by any name.
  if (isLoopbackHost(listenHost) && !isExpectedHostHeader(request.headers.host, listenHost)) {
    reply(response, 403, 'text/plain; charset=utf-8', 'the Host header must be an IP address, localhost or the listen address\n');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    reply(response, 405, 'text/plain; charset=utf-8', `method ${request.method} not allowed; use GET\n`, { allow: 'GET, HEAD' });
    return;
  }
  switch (path) {
    case '/healthz': {
      const notReady = status().tunnels.filter((tunnel) => !isReady(tunnel));
      if (notReady.length === 0) reply(response, 200, 'text/plain; charset=utf-8', 'ok\n');
      else reply(response, 503, 'text/plain; charset=utf-8', `not ready: ${notReady.map((t) => `${t.name} (${t.state})`).join(', ')}\n`);
      return;
    }
    case '/status':
      reply(response, 200, 'application/json; charset=utf-8', `${JSON.stringify(status(), null, 2)}\n`);
      return;
    case '/metrics':
      reply(response, 200, METRICS_CONTENT_TYPE, renderMetrics(status().tunnels));
      return;
    default:
      reply(response, 404, 'text/plain; charset=utf-8', `no such page: ${path}; try /healthz, /status or /metrics\n`);
  }
}

function reply(response: ServerResponse, code: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(code, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  response.end(body);
}
