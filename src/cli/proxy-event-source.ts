import type { ProxyEvents, ProxyServer } from '../proxy/proxy-server.js';
import type { ConnectionInfo, TunnelEvents, TunnelState } from '../tunnel/tunnel.js';
import type { TunnelEventSource } from './terminal-view.js';

/*
 * The SOCKS proxy seen as the terminal view sees a tunnel: each accepted request is a connection
 * (named by its client and its destination), the status counts every destination's session. A
 * proxy has no one session whose state changes, so there are no 'state' events to follow.
 */

/** The view's listeners, by identity only. */
type Listener = object;

export function proxyEventSource(proxy: ProxyServer): TunnelEventSource {
  // The view passes the same listener to off() as to on(): remember what each was wrapped in.
  const wrapped = new Map<Listener, (...args: ProxyEvents['connection']) => void>();
  return {
    on(event, listener) {
      if (event === 'connectionClosed') proxy.on('connectionClosed', listener as (...args: TunnelEvents['connectionClosed']) => void);
      if (event === 'connection') {
        const onConnection = (request: ProxyEvents['connection'][0]): void =>
          (listener as (info: ConnectionInfo) => void)({ id: request.id, remoteAddress: `${request.remoteAddress}, CONNECT ${request.destination}` });
        wrapped.set(listener, onConnection);
        proxy.on('connection', onConnection);
      }
      return this;
    },
    off(event, listener) {
      if (event === 'connectionClosed') proxy.off('connectionClosed', listener as (...args: TunnelEvents['connectionClosed']) => void);
      const onConnection = wrapped.get(listener);
      if (event === 'connection' && onConnection !== undefined) proxy.off('connection', onConnection);
      return this;
    },
    get stats(): TunnelEventSource['stats'] {
      const stats = proxy.stats;
      const state: TunnelState = stats.state === 'listening' ? 'ready' : stats.state;
      const sessions = stats.destinations.filter((destination) => destination.sessionId !== undefined).length;
      return {
        state,
        sessionId: undefined,
        sessionSummary: `${sessions} destination session${sessions === 1 ? '' : 's'}`,
        openConnections: stats.openConnections,
        totalConnections: stats.totalRequests,
        bytesUp: stats.bytesUp,
        bytesDown: stats.bytesDown,
      };
    },
  };
}
