/*
 * What the daemon config may contain, and how a parsed YAML document becomes a DaemonConfig:
 * every field checked, defaults merged into each tunnel, names and local addresses unique.
 */
import { isMap } from 'yaml';
import type { AwsConnectionOptions } from '../aws/session-api.js';
import { ecsServiceTargetProblem } from '../aws/ecs-target.js';
import { targetSpecProblem, type TargetSpec } from '../aws/target-resolver.js';
import { DEFAULT_RECONNECT } from '../tunnel/options.js';
import type { LocalSocketOptions, ReconnectOptions, TunnelOptions } from '../tunnel/options.js';
import { bindingsCollide, isLoopbackHost, LISTEN_EXPECTED } from './config-hosts.js';
import type { ListenAddress } from './config-hosts.js';
import {
  readBoolean,
  readDuration,
  readHost,
  readHttpUrl,
  readListenAddress,
  readMatching,
  readNumberAtLeast,
  readOneOf,
  readPort,
  readProxy,
} from './config-fields.js';
import type { ConfigReader, Fields, Located, MappingShape } from './config-reader.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

export const DEFAULT_LOCAL_HOST = '127.0.0.1';
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** One tunnel as the daemon runs it: the config's defaults merged in, nothing left to choose. */
export interface TunnelDefinition
  extends Omit<
    TunnelOptions,
    'logger' | 'sessionApi' | 'reconnect' | 'localHost' | 'localPort' | 'localSocket' | 'sessions' | 'connectTimeoutMs' | 'keepAlive'
  > {
  name: string;
  /** TCP: where to listen; both unset when the tunnel listens on `localSocket`. */
  localHost?: string;
  localPort?: number;
  /** A unix socket instead of TCP. */
  localSocket?: LocalSocketOptions;
  /** SSM sessions the tunnel spreads its connections over; unset: 1. */
  sessions?: number;
  reconnect: ReconnectOptions;
  connectTimeoutMs: number;
  keepAlive: boolean;
  /** `localHost` is not a loopback address, so other machines can reach the tunnel: warn. */
  exposed: boolean;
}

export interface StatusEndpoint extends ListenAddress {
  /** `host` is not a loopback address: warn. */
  exposed: boolean;
}

export interface DaemonConfig {
  log: { level: LogLevel; format: LogFormat };
  /** Absent: no status endpoint. */
  status?: StatusEndpoint;
  /** How long open connections may finish on SIGTERM before they are cut. */
  shutdownGraceMs: number;
  tunnels: TunnelDefinition[];
}

const CONNECTION_KEYS = ['region', 'profile', 'endpoint', 'credentials', 'reconnect', 'connectTimeout', 'keepAlive', 'proxy', 'caBundle'];
const TUNNEL_ONLY_KEYS = ['name', 'target', 'remote', 'local', 'sessions'];
const TOP_LEVEL_KEYS = ['defaults', 'log', 'status', 'shutdownGrace', 'tunnels'];

const MERGE_KEY_HINT = 'YAML merge keys are not supported; put shared settings under "defaults:"';
const TOP_LEVEL_SHAPE: MappingShape = {
  keys: TOP_LEVEL_KEYS,
  misplaced: {
    ...hints(CONNECTION_KEYS, 'it belongs under "defaults:" or in a tunnel'),
    ...hints(TUNNEL_ONLY_KEYS, 'it belongs in a tunnel, under "tunnels:"'),
    '<<': MERGE_KEY_HINT,
  },
};
const DEFAULTS_SHAPE: MappingShape = {
  keys: CONNECTION_KEYS,
  misplaced: {
    ...hints(TUNNEL_ONLY_KEYS, 'it is set per tunnel, under "tunnels:"'),
    ...hints(['log', 'status', 'shutdownGrace'], 'it is a top-level setting'),
    '<<': MERGE_KEY_HINT,
  },
};
const TUNNEL_SHAPE: MappingShape = {
  keys: [...TUNNEL_ONLY_KEYS, ...CONNECTION_KEYS],
  misplaced: {
    remoteHost: 'write remote: { host: … }',
    remotePort: 'write remote: { port: … }',
    localHost: 'write local: { host: … }',
    localPort: 'write local: { port: … }',
    socket: 'write local: { socket: … }',
    tag: 'write target: { tag: { Key: Value } }',
    host: 'it belongs under "remote:" or "local:"',
    port: 'it belongs under "remote:" or "local:"',
    ...hints(['log', 'status', 'shutdownGrace'], 'it is a top-level setting'),
    '<<': MERGE_KEY_HINT,
  },
};

function hints(keys: readonly string[], hint: string): Record<string, string> {
  return Object.fromEntries(keys.map((key) => [key, hint]));
}

/** Connection settings as written at one level (defaults or a tunnel); absent = inherit. */
interface ConnectionSettings extends AwsConnectionOptions {
  reconnect?: Partial<ReconnectOptions>;
  /** Where `reconnect` was written, to report an inconsistent merge there. */
  reconnectAt?: Located;
  connectTimeoutMs?: number;
  keepAlive?: boolean;
}

/** Connection settings after merging, with nothing left to choose but the AWS ones (the SDK's). */
type ResolvedConnection = AwsConnectionOptions & {
  reconnect: ReconnectOptions;
  connectTimeoutMs: number;
  keepAlive: boolean;
};

/** What a tunnel gets for what neither it nor `defaults:` sets (AWS settings: the SDK's defaults). */
const BUILT_IN_CONNECTION: ResolvedConnection = {
  reconnect: DEFAULT_RECONNECT,
  connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
  keepAlive: false,
};

/** The config in the reader's document; undefined when something could not be read (all reported). */
export function readConfig(reader: ConfigReader): DaemonConfig | undefined {
  const root = reader.root();
  if (root === undefined) return undefined;
  if (root.node === null) {
    reader.report(root, 'the config is empty; expected a mapping with at least "tunnels:"');
    return undefined;
  }
  const top = reader.fields(root, TOP_LEVEL_SHAPE, 'a mapping with "tunnels:" and optional "defaults:", "log:", "status:", "shutdownGrace:"');
  if (top === undefined) return undefined;

  const defaultsAt = top.optional('defaults');
  const defaults = defaultsAt && reader.fields(defaultsAt, DEFAULTS_SHAPE, 'a mapping of settings shared by all tunnels');
  const inherited = resolveConnection(reader, BUILT_IN_CONNECTION, defaults ? readConnectionFields(reader, defaults) : {});

  const logAt = top.optional('log');
  const log = logAt === undefined ? { level: 'info' as const, format: 'auto' as const } : readLog(reader, logAt);
  const statusAt = top.optional('status');
  const status = statusAt && readStatus(reader, statusAt);
  const graceAt = top.optional('shutdownGrace');
  const shutdownGraceMs = graceAt === undefined ? DEFAULT_SHUTDOWN_GRACE_MS : readDuration(reader, graceAt, true);

  const tunnelsAt = top.required('tunnels', 'a list of tunnels');
  const tunnels = tunnelsAt === undefined ? [] : readTunnels(reader, tunnelsAt, inherited);
  if (status !== undefined) checkStatusCollisions(reader, status, tunnels);

  const definitions = tunnels.flatMap(({ definition }) => (definition === undefined ? [] : [definition]));
  if (log === undefined || shutdownGraceMs === undefined || definitions.length !== tunnels.length) return undefined;
  const config: DaemonConfig = { log, shutdownGraceMs, tunnels: definitions };
  if (status !== undefined) {
    config.status = { host: status.host, port: status.port, exposed: !isLoopbackHost(status.host) };
  }
  return config;
}

function readLog(reader: ConfigReader, at: Located): DaemonConfig['log'] | undefined {
  const fields = reader.fields(at, { keys: ['level', 'format'] }, 'a mapping with level and format');
  if (fields === undefined) return undefined;
  const levelAt = fields.optional('level');
  const formatAt = fields.optional('format');
  const level = levelAt === undefined ? 'info' : readOneOf(reader, levelAt, LOG_LEVELS);
  const format = formatAt === undefined ? 'auto' : readOneOf(reader, formatAt, LOG_FORMATS);
  return level === undefined || format === undefined ? undefined : { level, format };
}

function readStatus(reader: ConfigReader, at: Located): (ListenAddress & { listenAt: Located }) | undefined {
  const fields = reader.fields(at, { keys: ['listen'] }, 'a mapping with listen');
  const listenAt = fields?.required('listen', LISTEN_EXPECTED);
  const address = listenAt && readListenAddress(reader, listenAt);
  return listenAt === undefined || address === undefined ? undefined : { ...address, listenAt };
}

/** The connection keys of a defaults or tunnel mapping. Invalid values are reported and left out. */
function readConnectionFields(reader: ConfigReader, fields: Fields): ConnectionSettings {
  const settings: ConnectionSettings = {};
  const regionAt = fields.optional('region');
  if (regionAt !== undefined) {
    settings.region = readMatching(reader, regionAt, /^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'a region name like eu-west-1');
  }
  const profileAt = fields.optional('profile');
  if (profileAt !== undefined) {
    settings.profile = readMatching(reader, profileAt, /^\S(?:.*\S)?$/, 'a profile name from the AWS config file');
  }
  const endpointAt = fields.optional('endpoint');
  if (endpointAt !== undefined) settings.endpoint = readHttpUrl(reader, endpointAt);
  const credentialsAt = fields.optional('credentials');
  if (credentialsAt !== undefined) settings.credentials = readCredentials(reader, credentialsAt);
  if (profileAt !== undefined && credentialsAt !== undefined) {
    reader.reportField(credentialsAt, 'set either profile or credentials, not both');
  }
  const proxyAt = fields.optional('proxy');
  if (proxyAt !== undefined) settings.proxy = readProxy(reader, proxyAt);
  const caBundleAt = fields.optional('caBundle');
  if (caBundleAt !== undefined) settings.caBundle = readMatching(reader, caBundleAt, /^\S(?:.*\S)?$/, 'the path of a PEM file of CA certificates');
  const reconnectAt = fields.optional('reconnect');
  if (reconnectAt !== undefined) {
    settings.reconnect = readReconnect(reader, reconnectAt);
    settings.reconnectAt = reconnectAt;
  }
  const timeoutAt = fields.optional('connectTimeout');
  if (timeoutAt !== undefined) settings.connectTimeoutMs = readDuration(reader, timeoutAt);
  const keepAliveAt = fields.optional('keepAlive');
  if (keepAliveAt !== undefined) settings.keepAlive = readBoolean(reader, keepAliveAt);
  return settings;
}

function readCredentials(reader: ConfigReader, at: Located): AwsConnectionOptions['credentials'] {
  const shape = { keys: ['accessKeyId', 'secretAccessKey', 'sessionToken'] };
  const fields = reader.fields(at, shape, 'a mapping with accessKeyId, secretAccessKey and optional sessionToken');
  if (fields === undefined) return undefined;
  const secret = { secret: true };
  const nonEmpty = /^\S+$/;
  const idAt = fields.required('accessKeyId', 'an access key id');
  const keyAt = fields.required('secretAccessKey', 'a secret access key');
  const tokenAt = fields.optional('sessionToken');
  const accessKeyId = idAt && readMatching(reader, idAt, nonEmpty, 'an access key id without spaces', secret);
  const secretAccessKey = keyAt && readMatching(reader, keyAt, nonEmpty, 'a secret access key without spaces', secret);
  const sessionToken = tokenAt && readMatching(reader, tokenAt, nonEmpty, 'a session token without spaces', secret);
  if (accessKeyId === undefined || secretAccessKey === undefined) return undefined;
  if (tokenAt !== undefined && sessionToken === undefined) return undefined;
  return sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
}

function readReconnect(reader: ConfigReader, at: Located): Partial<ReconnectOptions> {
  const fields = reader.fields(at, { keys: ['initialDelay', 'maxDelay', 'factor'] }, 'a mapping with initialDelay, maxDelay, factor');
  if (fields === undefined) return {};
  const reconnect: Partial<ReconnectOptions> = {};
  const initialAt = fields.optional('initialDelay');
  const initialDelayMs = initialAt && readDuration(reader, initialAt);
  if (initialDelayMs !== undefined) reconnect.initialDelayMs = initialDelayMs;
  const maxAt = fields.optional('maxDelay');
  const maxDelayMs = maxAt && readDuration(reader, maxAt);
  if (maxDelayMs !== undefined) reconnect.maxDelayMs = maxDelayMs;
  const factorAt = fields.optional('factor');
  const factor = factorAt && readNumberAtLeast(reader, factorAt, 1);
  if (factor !== undefined) reconnect.factor = factor;
  return reconnect;
}

/**
 * `written` over `inherited`. Credentials and profile are one choice: setting either at a level
 * drops both from the level above, so a tunnel's profile is not overridden by default credentials.
 */
function resolveConnection(reader: ConfigReader, inherited: ResolvedConnection, written: ConnectionSettings): ResolvedConnection {
  const resolved: ResolvedConnection = { ...inherited, reconnect: { ...inherited.reconnect, ...written.reconnect } };
  if (written.profile !== undefined || written.credentials !== undefined) {
    delete resolved.profile;
    delete resolved.credentials;
  }
  for (const key of ['region', 'profile', 'endpoint', 'credentials', 'proxy', 'caBundle', 'connectTimeoutMs', 'keepAlive'] as const) {
    if (written[key] !== undefined) Object.assign(resolved, { [key]: written[key] });
  }
  const { initialDelayMs, maxDelayMs } = resolved.reconnect;
  if (written.reconnectAt !== undefined && initialDelayMs > maxDelayMs) {
    reader.reportField(written.reconnectAt, `initialDelay (${initialDelayMs}ms) is longer than maxDelay (${maxDelayMs}ms)`);
  }
  return resolved;
}

/** What could be read of one tunnel; parts with errors are absent (and reported). */
interface ReadTunnel {
  definition?: TunnelDefinition;
  /** The name and local address with where they were written: duplicates are reported there. */
  name?: { value: string; at: Located };
  local?: { address: ListenAddress; portAt: Located };
  socket?: { path: string; at: Located };
}

/** Every item of the list, as far as it could be read; empty (reported) when there is no list. */
function readTunnels(reader: ConfigReader, at: Located, inherited: ResolvedConnection): ReadTunnel[] {
  const items = reader.items(at, 'a list of tunnels', { whenEmpty: 'expected at least one tunnel' });
  if (items === undefined) return [];
  // Tunnels with errors still take part in the name and address checks, for as much as was read.
  const tunnels: ReadTunnel[] = [];
  for (const item of items) {
    const tunnel = readTunnel(reader, item, inherited);
    checkTunnelCollisions(reader, tunnel, tunnels);
    tunnels.push(tunnel);
  }
  return tunnels;
}

const NAME_EXPECTED = 'a name of 1–64 letters, digits, ".", "_" or "-"';
const TARGET_EXPECTED =
  'an instance or managed node id like i-0123456789abcdef0, an ecs:<cluster>_<task>_<runtime id> task, "name:<Name tag>", { tag: { Key: Value } } or { ecs: { cluster, service } }';
const ECS_NAME_EXPECTED = 'an ECS name: letters, digits, - and _, up to 255 characters';
const LOCAL_EXPECTED = 'a mapping with port (0: any free port) and optional host, or with socket and optional mode';
const MAX_SESSIONS = 64;

function readTunnel(reader: ConfigReader, at: Located, inherited: ResolvedConnection): ReadTunnel {
  const fields = reader.fields(at, TUNNEL_SHAPE, 'a mapping with name, target, remote and local');
  if (fields === undefined) return {};
  const nameAt = fields.required('name', NAME_EXPECTED);
  const name = nameAt && readMatching(reader, nameAt, /^[A-Za-z0-9._-]{1,64}$/, NAME_EXPECTED);
  const targetAt = fields.required('target', TARGET_EXPECTED);
  const target = targetAt && readTarget(reader, targetAt);
  const remoteAt = fields.required('remote', 'a mapping with port and optional host');
  const remote = remoteAt && readAddress(reader, remoteAt, 1);
  const localAt = fields.required('local', LOCAL_EXPECTED);
  const local = localAt && readLocal(reader, localAt);
  const sessionsAt = fields.optional('sessions');
  const sessions = sessionsAt && readSessions(reader, sessionsAt);
  const connection = resolveConnection(reader, inherited, readConnectionFields(reader, fields));

  const read: ReadTunnel = {};
  if (nameAt !== undefined && name !== undefined) read.name = { value: name, at: nameAt };
  if (local !== undefined && 'socket' in local) read.socket = { path: local.socket.path, at: local.at };
  const localHost = local !== undefined && 'port' in local ? (local.host ?? DEFAULT_LOCAL_HOST) : undefined;
  if (local !== undefined && 'port' in local && localHost !== undefined) read.local = { address: { host: localHost, port: local.port }, portAt: local.portAt };
  if (name === undefined || target === undefined || remote === undefined || local === undefined) return read;
  if (sessionsAt !== undefined && sessions === undefined) return read;
  const listen = 'socket' in local ? { localSocket: local.socket } : { localHost: localHost ?? DEFAULT_LOCAL_HOST, localPort: local.port };
  read.definition = {
    name,
    target,
    remotePort: remote.port,
    ...listen,
    ...(sessions === undefined ? {} : { sessions }),
    ...connection,
    exposed: localHost !== undefined && !isLoopbackHost(localHost),
  };
  if (remote.host !== undefined) read.definition.remoteHost = remote.host;
  return read;
}

/** An id or `name:<Name>` as a string, `{ tag: { Key: Value, … } }` or `{ ecs: { cluster, service, container? } }`. */
function readTarget(reader: ConfigReader, at: Located): TargetSpec | undefined {
  if (!isMap(at.node)) {
    return reader.value(at, TARGET_EXPECTED, (value) => (typeof value === 'string' && targetSpecProblem(value) === undefined ? value : undefined));
  }
  const fields = reader.fields(at, { keys: ['tag', 'ecs'] }, 'a mapping { tag: { Key: Value } } or { ecs: { cluster, service } }');
  const ecsAt = fields?.optional('ecs');
  if (ecsAt !== undefined) {
    if (fields?.has('tag')) reader.reportField(ecsAt, 'a target is either { tag: … } or { ecs: … }, not both');
    return readEcsTarget(reader, ecsAt);
  }
  const tagAt = fields?.required('tag', 'a mapping of tag keys to values, e.g. { Name: bastion }');
  const entries = tagAt && reader.entries(tagAt, 'a mapping of tag keys to values, e.g. { Name: bastion }');
  if (tagAt === undefined || entries === undefined) return undefined;
  if (entries.length === 0) {
    reader.report(tagAt, 'expected at least one tag, e.g. { Name: bastion }');
    return undefined;
  }
  const tags: Record<string, string> = {};
  let complete = true;
  for (const entry of entries) {
    const value = reader.value(entry.at, 'a tag value: text of 1–256 characters (quote numbers and true/false)', (v) =>
      typeof v === 'string' && targetSpecProblem({ tag: { [entry.key]: v } }) === undefined ? v : undefined,
    );
    if (value === undefined) complete = false;
    else tags[entry.key] = value;
  }
  const spec = { tag: tags };
  const problem = targetSpecProblem(spec);
  if (complete && problem !== undefined) reader.report(tagAt, problem);
  return complete && problem === undefined ? spec : undefined;
}

/** `{ cluster, service, container? }`: a running task of an ECS service. */
function readEcsTarget(reader: ConfigReader, at: Located): TargetSpec | undefined {
  const fields = reader.fields(at, { keys: ['cluster', 'service', 'container'] }, 'a mapping { cluster: NAME, service: NAME, container?: NAME }');
  if (fields === undefined) return undefined;
  const name = (key: string, required: boolean): string | undefined | null => {
    const fieldAt = required ? fields.required(key, ECS_NAME_EXPECTED) : fields.optional(key);
    if (fieldAt === undefined) return required ? null : undefined;
    return reader.value(fieldAt, ECS_NAME_EXPECTED, (v) => (typeof v === 'string' && ecsServiceTargetProblem({ cluster: v, service: v }) === undefined ? v : undefined)) ?? null;
  };
  const cluster = name('cluster', true);
  const service = name('service', true);
  const container = name('container', false);
  if (typeof cluster !== 'string' || typeof service !== 'string' || container === null) return undefined;
  return { ecs: { cluster, service, ...(container === undefined ? {} : { container }) } };
}

type ReadLocal = { host?: string; port: number; portAt: Located } | { socket: LocalSocketOptions; at: Located };

/** TCP (`port`, optional `host`) or a unix socket (`socket`, optional `mode`), never both. */
function readLocal(reader: ConfigReader, at: Located): ReadLocal | undefined {
  const fields = reader.fields(at, { keys: ['host', 'port', 'socket', 'mode'] }, LOCAL_EXPECTED);
  if (fields === undefined) return undefined;
  const socketAt = fields.optional('socket');
  const modeAt = fields.optional('mode');
  if (socketAt === undefined) {
    if (modeAt !== undefined) reader.reportField(modeAt, 'mode applies to a unix socket only; add socket: or remove mode');
    const hostAt = fields.optional('host');
    const host = hostAt && readHost(reader, hostAt);
    const portAt = fields.required('port', 'an integer 0–65535 (0: any free port), or socket: with a unix socket path');
    const port = portAt && readPort(reader, portAt, 0);
    if (portAt === undefined || port === undefined || (hostAt !== undefined && host === undefined) || modeAt !== undefined) return undefined;
    return host === undefined ? { port, portAt } : { host, port, portAt };
  }
  const tcpKeys = ['host', 'port'].flatMap((key) => {
    const keyAt = fields.optional(key);
    return keyAt === undefined ? [] : [keyAt];
  });
  for (const keyAt of tcpKeys) reader.reportField(keyAt, 'a tunnel listens on a unix socket or on TCP: set socket or host/port, not both');
  const path = reader.value(socketAt, `an absolute path of at most ${MAX_SOCKET_PATH_BYTES} bytes, e.g. /run/ssm-tunnel/db.sock`, (value) =>
    typeof value === 'string' && value.startsWith('/') && Buffer.byteLength(value) <= MAX_SOCKET_PATH_BYTES && !value.includes('\0') ? value : undefined,
  );
  const mode = modeAt && readSocketMode(reader, modeAt);
  if (path === undefined || tcpKeys.length > 0 || (modeAt !== undefined && mode === undefined)) return undefined;
  return { socket: mode === undefined ? { path } : { path, mode }, at: socketAt };
}

/** Linux's sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Octal permission bits as quoted text ("0660", "660" or "0o660"): YAML would read an unquoted
 * 0660 as the decimal number 660.
 */
function readSocketMode(reader: ConfigReader, at: Located): number | undefined {
  return reader.value(at, 'octal permission bits as quoted text, like "0660"', (value) =>
    typeof value === 'string' && /^(?:0o?)?[0-7]{3}$/.test(value) ? parseInt(value.slice(-3), 8) : undefined,
  );
}

function readSessions(reader: ConfigReader, at: Located): number | undefined {
  return reader.value(at, `an integer 1–${MAX_SESSIONS}`, (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_SESSIONS ? value : undefined,
  );
}

function readAddress(
  reader: ConfigReader,
  at: Located,
  lowestPort: 0 | 1,
): { host?: string; port: number; portAt: Located } | undefined {
  const fields = reader.fields(at, { keys: ['host', 'port'] }, 'a mapping with port and optional host');
  if (fields === undefined) return undefined;
  const hostAt = fields.optional('host');
  const host = hostAt && readHost(reader, hostAt);
  const portAt = fields.required('port', `an integer ${lowestPort}–65535`);
  const port = portAt && readPort(reader, portAt, lowestPort);
  if (portAt === undefined || port === undefined || (hostAt !== undefined && host === undefined)) return undefined;
  return host === undefined ? { port, portAt } : { host, port, portAt };
}

function checkTunnelCollisions(reader: ConfigReader, tunnel: ReadTunnel, earlier: readonly ReadTunnel[]): void {
  const { name, local, socket } = tunnel;
  const sameSocket = socket && earlier.find((other) => other.socket?.path === socket.path);
  if (socket !== undefined && sameSocket?.socket !== undefined) {
    const owner = sameSocket.name === undefined ? 'another tunnel' : `tunnel ${JSON.stringify(sameSocket.name.value)}`;
    reader.report(socket.at, `${socket.path} is already the socket of ${owner}`);
  }
  const sameName = name && earlier.find((other) => other.name?.value === name.value);
  if (name !== undefined && sameName?.name !== undefined) {
    const first = sameName.name.at;
    reader.report(name.at, `${JSON.stringify(name.value)} is already used by ${where(reader, first)}; names must be unique`);
  }
  const sameLocal = local && earlier.find((other) => other.local && bindingsCollide(local.address, other.local.address));
  if (local !== undefined && sameLocal?.local !== undefined) {
    reader.report(local.portAt, collision(local.address, sameLocal));
  }
}

function checkStatusCollisions(reader: ConfigReader, status: ListenAddress & { listenAt: Located }, tunnels: readonly ReadTunnel[]): void {
  const taken = tunnels.find((tunnel) => tunnel.local && bindingsCollide(status, tunnel.local.address));
  if (taken !== undefined) reader.report(status.listenAt, collision(status, taken));
}

function collision(address: ListenAddress, other: ReadTunnel): string {
  const owner = other.name === undefined ? 'another tunnel' : `tunnel ${JSON.stringify(other.name.value)}`;
  const taken = other.local?.address ?? address;
  return `${hostPort(address)} collides with ${owner} listening on ${hostPort(taken)}`;
}

function where(reader: ConfigReader, at: Located): string {
  return `${at.path.replace(/\.name$/, '')} (line ${reader.lineOf(at)})`;
}

function hostPort({ host, port }: ListenAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
