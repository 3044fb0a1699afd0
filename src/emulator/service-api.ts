import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { ApiError, serializationError } from './api-errors.js';
import { DataChannelGate } from './data-channel-gate.js';
import type { DataChannelHandler } from './data-channel-gate.js';
import { EmulatorRecord } from './emulator-record.js';
import { SessionRegistry } from './session-registry.js';
import type { EndedState } from './session-registry.js';
import { EMULATOR_CREDENTIALS, SigV4Verifier } from './sigv4-verifier.js';
import type { EmulatorCredentials } from './sigv4-verifier.js';
import { SsmOperations } from './ssm-operations.js';
import type { JsonObject } from './ssm-operations.js';
import { ECS_TARGET_PREFIX, EcsTaskDirectory } from './ecs-tasks.js';
import { formatDestination, TargetDirectory } from './targets.js';
import type { EmulatedTargetConfig } from './targets.js';

/*
 * The emulated SSM service: one HTTP server answering the AWS JSON 1.1 API (`POST /` with
 * `X-Amz-Target: AmazonSSM.<Operation>`, SigV4-signed) and accepting data-channel WebSockets on the
 * same port. It never logs tokens, secrets or request bodies.
 */

export interface EmulatorServiceOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: the OS picks; read it from `listen()`. */
  port?: number;
  /** The region signatures must be scoped to; default `us-east-1`. */
  region?: string;
  /** Accepted key pairs; default the built-in `EMULATOR_CREDENTIALS`. */
  credentials?: EmulatorCredentials[];
  /** Managed nodes by id (`i-…`, `mi-…`). */
  targets?: Record<string, EmulatedTargetConfig>;
  logger?: Logger;
  /** The agent; can also be installed later with `setDataChannelHandler`. */
  dataChannelHandler?: DataChannelHandler;
  /** How long an upgraded socket may wait before sending its OpenDataChannel frame; default 30 s. */
  openFrameTimeoutMs?: number;
  /** Serve https and wss with this PEM key and certificate chain, as AWS does; default plain http and ws. */
  tls?: { key: string; cert: string };
  /** Actions answered with AccessDeniedException, as an IAM policy without them would: `ecs:DescribeTasks`, `ssm:StartSession`. */
  deniedActions?: string[];
}

const TARGET_PREFIX = 'AmazonSSM.';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_BODY_BYTES = 1024 * 1024;

export class EmulatorService {
  readonly sessions = new SessionRegistry();
  readonly record = new EmulatorRecord();
  readonly targets: TargetDirectory;
  readonly ecsTasks: EcsTaskDirectory;
  /** `ecs:ListTasks`, `ssm:StartSession`, …: answered with AccessDeniedException. */
  deniedActions: Set<string>;
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly logger: Logger;
  /** One per API: a signature is scoped to its service (`ssm`, `ecs`). */
  private readonly verifiers: { ssm: SigV4Verifier; ecs: SigV4Verifier };
  private readonly operations: SsmOperations;
  private readonly gate: DataChannelGate;
  private readonly server: Server;
  private handler: DataChannelHandler | undefined;
  private boundPort: number | undefined;
  private readonly secure: boolean;

  constructor(options: EmulatorServiceOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port ?? 0;
    this.logger = options.logger ?? pino({ enabled: false });
    this.handler = options.dataChannelHandler;
    this.secure = options.tls !== undefined;
    this.targets = new TargetDirectory(options.targets ?? {});
    const credentials = options.credentials ?? [EMULATOR_CREDENTIALS];
    const region = options.region ?? 'us-east-1';
    this.verifiers = { ssm: new SigV4Verifier(credentials, region, 'ssm'), ecs: new SigV4Verifier(credentials, region, 'ecs') };
    this.deniedActions = new Set(options.deniedActions);
    this.ecsTasks = new EcsTaskDirectory(region, this.targets, (targetIds) => {
      for (const session of this.sessions.list()) {
        if (targetIds.includes(session.target)) this.endSession(session.id, 'terminated', 'The ECS task stopped.');
      }
    });
    this.operations = new SsmOperations({
      sessions: this.sessions,
      targets: this.targets,
      streamUrl: (sessionId) => `${this.secure ? 'wss' : 'ws'}://${this.authority()}/v1/data-channel/${sessionId}?role=publish_subscribe`,
      terminate: (sessionId, reason) => this.endSession(sessionId, 'terminated', reason),
    });
    this.gate = new DataChannelGate({
      sessions: this.sessions,
      handler: () => this.handler,
      logger: this.logger,
      onRefused: (sessionId, reason) => this.record.addChannelRefusal({ at: new Date(), ...(sessionId === undefined ? {} : { sessionId }), reason }),
      openFrameTimeoutMs: options.openFrameTimeoutMs ?? 30_000,
    });
    const answer = (request: IncomingMessage, response: ServerResponse): void => void this.answer(request, response);
    this.server = options.tls === undefined ? createServer(answer) : createTlsServer({ key: options.tls.key, cert: options.tls.cert }, answer);
    this.server.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => this.gate.handleUpgrade(request, socket, head));
  }

  setDataChannelHandler(handler: DataChannelHandler): void {
    this.handler = handler;
  }

  async listen(): Promise<{ endpoint: string; port: number }> {
    this.server.listen(this.requestedPort, this.host);
    await once(this.server, 'listening');
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.logger.info({ endpoint: this.endpoint }, 'emulated SSM service listening');
    return { endpoint: this.endpoint, port: this.boundPort };
  }

  /** `http://host:port` (`https://` with TLS): the SDK's `endpoint` for this emulator. */
  get endpoint(): string {
    return `${this.secure ? 'https' : 'http'}://${this.authority()}`;
  }

  /**
   * Ends a session as the service would (TerminateSession, idle timeout, maximum duration): its
   * tokens are void, ResumeSession returns none, and the agent is told to close the channel.
   * False if the session is unknown or had already ended.
   */
  endSession(sessionId: string, state: EndedState, reason: string): boolean {
    const session = this.sessions.get(sessionId);
    if (session === undefined || !this.sessions.end(session, state, reason)) return false;
    this.logger.info({ sessionId, state, reason }, 'session ended');
    try {
      this.handler?.terminate(session, reason);
    } catch (error) {
      // The session has ended either way; a failing agent must not fail TerminateSession or close().
      this.logger.error({ sessionId, err: error }, 'data channel handler failed to terminate the session');
    }
    return true;
  }

  /** Fault knob: the next `count` ResumeSession calls fail with `error` (default: a 500 InternalServerError). */
  rejectNextResumeSessions(count: number, error?: ApiError): void {
    this.operations.rejectNextResumeSessions(count, error);
  }

  /** Ends every live session, closes every data channel and stops listening. */
  async close(): Promise<void> {
    for (const session of this.sessions.list()) this.endSession(session.id, 'terminated', 'emulator stopped');
    await this.gate.close();
    if (!this.server.listening) return;
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  private authority(): string {
    if (this.boundPort === undefined) throw new Error('EmulatorService is not listening yet: call listen() first');
    // A wildcard bind is reachable on loopback; URLs need a concrete address.
    const host = this.host === '0.0.0.0' ? '127.0.0.1' : this.host === '::' ? '::1' : this.host;
    return formatDestination(host, this.boundPort);
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const at = new Date();
    const targetHeader = request.headers['x-amz-target'];
    const api = typeof targetHeader === 'string' && targetHeader.startsWith(ECS_TARGET_PREFIX) ? 'ecs' : 'ssm';
    const prefix = api === 'ecs' ? ECS_TARGET_PREFIX : TARGET_PREFIX;
    const name = typeof targetHeader === 'string' && targetHeader.startsWith(prefix) ? targetHeader.slice(prefix.length) : 'unknown';
    // SSM operations are recorded by name, as before ECS existed here; ECS ones as `ecs:<Operation>`.
    const operation = api === 'ecs' ? `ecs:${name}` : name;
    let subject: { sessionId?: string; target?: string } = {};
    let status = 200;
    let body: string;
    let errorType: string | undefined;
    try {
      const url = new URL(request.url ?? '/', 'http://emulator');
      if (request.method !== 'POST' || url.pathname !== '/') {
        throw new ApiError('UnknownOperationException', `Only POST / is served here, got ${request.method} ${url.pathname}`, 404);
      }
      const raw = await readBody(request);
      await this.verifiers[api].verify({ method: 'POST', path: url.pathname, query: queryOf(url), headers: request.headers, body: raw });
      if (name === 'unknown') {
        throw new ApiError('UnknownOperationException', `X-Amz-Target must be ${TARGET_PREFIX}<Operation> or ${ECS_TARGET_PREFIX}<Operation>, got ${String(targetHeader)}`);
      }
      const action = `${api}:${name}`;
      if (this.deniedActions.has(action)) {
        throw new ApiError('AccessDeniedException', `User: arn:aws:iam::123456789012:user/emulator is not authorized to perform: ${action} because no identity-based policy allows the ${action} action`);
      }
      const input = parseJsonObject(raw);
      subject = subjectOf(input);
      const output = api === 'ecs' ? this.ecsTasks.answer(name, input) : this.operations.run(name, input);
      if (typeof output.SessionId === 'string') subject.sessionId = output.SessionId;
      body = JSON.stringify(output);
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError('InternalFailure', 'The emulated service failed unexpectedly', 500);
      if (apiError !== error) this.logger.error({ operation, err: error }, 'emulated SSM operation failed');
      status = apiError.status;
      errorType = apiError.type;
      body = apiError.toBody();
    }
    this.record.addCall({ operation, at, ...subject, ...(errorType === undefined ? {} : { error: errorType }) });
    this.logger.debug({ operation, ...subject, status, error: errorType }, 'SSM API call');
    response.writeHead(status, {
      'Content-Type': JSON_CONTENT_TYPE,
      'Content-Length': Buffer.byteLength(body),
      'x-amzn-RequestId': randomUUID(),
      ...(errorType === undefined ? {} : { 'x-amzn-ErrorType': errorType }),
    });
    response.end(body);
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep draining an oversized body so the connection stays usable, but stop storing it.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) throw serializationError(`Request body is ${size} bytes; the limit is ${MAX_BODY_BYTES}`);
  return Buffer.concat(chunks);
}

function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? (values[0] ?? '') : values;
  }
  return query;
}

function parseJsonObject(raw: Buffer): JsonObject {
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw serializationError(`Request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw serializationError('Request body must be a JSON object');
  return value as JsonObject;
}

/** The session or target a call is about, for the record and the log. */
function subjectOf(input: JsonObject): { sessionId?: string; target?: string } {
  return {
    ...(typeof input.SessionId === 'string' ? { sessionId: input.SessionId } : {}),
    ...(typeof input.Target === 'string' ? { target: input.Target } : {}),
  };
}
