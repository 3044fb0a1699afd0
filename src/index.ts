export { openTunnel, Tunnel } from './tunnel/tunnel.js';
export type { TunnelState, TunnelStats, TunnelEvents, ConnectionInfo } from './tunnel/tunnel.js';
export type { TunnelOptions, ReconnectOptions } from './tunnel/options.js';
export type { ConnectionSummary } from './forward/forwarding-channel.js';
export type { SessionApi, SessionGrant, ResumeResult, StartSessionRequest, AwsConnectionOptions } from './aws/session-api.js';
export { createSsmSessionApi } from './aws/ssm-session-api.js';
export { CLIENT_VERSION } from './channel/client-data-channel.js';
export { ProtocolError } from './protocol/errors.js';
