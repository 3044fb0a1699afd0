export { openTunnel, Tunnel } from './tunnel/tunnel.js';
export type { TunnelState, TunnelStats, TunnelEvents, ConnectionInfo, PoolSessionStats } from './tunnel/tunnel.js';
export type { TunnelOptions, ReconnectOptions, LocalSocketOptions } from './tunnel/options.js';
export { openStream, SsmStream } from './stream/ssm-stream.js';
export type { StreamOptions } from './stream/options.js';
export { probeTunnel, type ProbeOptions, type ProbeOutcome, type ProbeResult } from './tunnel/probe.js';
export { formatTarget, resolveTarget, TargetResolutionError, type TargetSpec } from './aws/target-resolver.js';
export type { ConnectionSummary } from './forward/forwarding-channel.js';
export type {
  SessionApi,
  SessionGrant,
  ResumeResult,
  StartSessionRequest,
  AwsConnectionOptions,
  ManagedNode,
  ManagedNodeFilter,
} from './aws/session-api.js';
export { createSsmSessionApi } from './aws/ssm-session-api.js';
export { CLIENT_VERSION } from './channel/client-data-channel.js';
export { ProtocolError } from './protocol/errors.js';
export { SsmTunnelError, InvalidOptionError, ErrorCode, isRetryable, errorCode, type OwnErrorCode } from './errors.js';
export { openProxy, ProxyServer } from './proxy/proxy-server.js';
export type { ProxyState, ProxyStats, ProxyDestinationStats } from './proxy/proxy-server.js';
export type { ProxyOptions, ProxyCredentials } from './proxy/options.js';
