import {
  DescribeInstanceInformationCommand,
  DescribeInstancePropertiesCommand,
  ResumeSessionCommand,
  SSMClient,
  StartSessionCommand,
  TerminateSessionCommand,
} from '@aws-sdk/client-ssm';
import type { InstanceInformation, SSMClientConfig } from '@aws-sdk/client-ssm';
import { pino } from 'pino';
import { ErrorCode, SsmTunnelError } from '../errors.js';
import type { Logger } from 'pino';
import type { ECSClientConfig } from '@aws-sdk/client-ecs';
import type { EcsTaskLister } from './ecs-task-api.js';
import { NetworkAgent } from './network.js';
import type {
  AwsConnectionOptions,
  EcsTask,
  ManagedNode,
  ManagedNodeFilter,
  ResumeResult,
  SessionApi,
  SessionGrant,
  StartSessionRequest,
} from './session-api.js';

import { isLoopbackUrl } from '../util/net.js';

export type { ManagedNodeFilter } from './session-api.js';

/*
 * SessionApi over the SDK's SSMClient. The client's own credential chain does the work: a profile
 * (SSO, credential_process, assume-role) is passed through as `profile`, never resolved here.
 */

// docs/forwarding.md §1.2
const PORT_FORWARDING_DOCUMENT = 'AWS-StartPortForwardingSession';
const REMOTE_HOST_DOCUMENT = 'AWS-StartPortForwardingSessionToRemoteHost';

export interface SsmSessionApiOptions extends AwsConnectionOptions {
  logger?: Logger;
  /** Attempts per call including the first, with the SDK's own backoff; SDK default 3. */
  maxAttempts?: number;
}

export interface SsmSessionApi extends SessionApi {
  /** Managed nodes matching every filter (all pages). DescribeInstanceInformation returns no tags, so `tags` stays unset. */
  describeManagedNodes(filters: ManagedNodeFilter[]): Promise<ManagedNode[]>;
  /**
   * Every managed node's EC2 Name tag, by node id (DescribeInstanceProperties, all pages: the call
   * the Systems Manager console lists nodes with; IAM action `ssm:DescribeInstanceProperties`).
   */
  describeNodeNames(): Promise<Map<string, string>>;
  readonly webSocketAgent: NetworkAgent;
  /** Releases the SDK client's sockets. */
  destroy(): void;
}

/**
 * An SDK error re-thrown with context: `code` (and `name`) is the service's error name
 * (`TargetNotConnected`, `AccessDeniedException`, `ThrottlingException`, …), `retryable` follows
 * isRetryable's rules for that name, the message adds the operation and its subject, `cause` is the
 * original error.
 */
export class SsmApiError extends SsmTunnelError {
  override name: string;

  constructor(
    readonly operation: string,
    /** `target i-…` or `session <id>`: what the call was about. */
    readonly subject: string,
    cause: unknown,
    /** `client` or `server`, as the SDK classified the fault; undefined for errors that never reached the service. */
    readonly fault: 'client' | 'server' | undefined,
    readonly httpStatusCode: number | undefined,
  ) {
    const original = cause instanceof Error ? cause : new Error(String(cause));
    super(original.name, `${operation} for ${subject} failed: ${original.name}: ${original.message}`, { cause });
    this.name = original.name;
  }
}

interface SdkErrorFields {
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

export function createSsmSessionApi(options: SsmSessionApiOptions = {}): SsmSessionApi {
  const logger = options.logger ?? pino({ enabled: false });
  const config: SSMClientConfig = {};
  if (options.region !== undefined) config.region = options.region;
  if (options.profile !== undefined) config.profile = options.profile;
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  // A copy: the SDK annotates the object it is given, and callers compare theirs (config reloads).
  if (options.credentials !== undefined) config.credentials = { ...options.credentials };
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  // One agent for the API and the sessions' WebSockets: same proxy, same CAs (network.ts).
  const agent = new NetworkAgent({ proxy: options.proxy, caBundle: options.caBundle, profile: options.profile, logger });
  config.requestHandler = { httpsAgent: agent, httpAgent: agent };
  const client = new SSMClient(config);
  let ecs: Promise<EcsTaskLister> | undefined;

  async function call<T>(operation: string, subject: string, send: () => Promise<T>): Promise<T> {
    try {
      const output = await send();
      logger.debug({ operation, subject }, 'SSM call succeeded');
      return output;
    } catch (error) {
      // Proxy, certificate and CA-bundle failures already name the host and the cause.
      if (error instanceof SsmTunnelError) {
        logger.debug({ operation, subject, error: error.code }, 'SSM call failed');
        throw error;
      }
      const fields = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorFields;
      const wrapped = new SsmApiError(operation, subject, error, fields.$fault, fields.$metadata?.httpStatusCode);
      logger.debug({ operation, subject, error: wrapped.name, status: wrapped.httpStatusCode }, 'SSM call failed');
      throw wrapped;
    }
  }

  return {
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    webSocketAgent: agent,

    async startSession(request: StartSessionRequest): Promise<SessionGrant> {
      const parameters: Record<string, string[]> =
        request.document === undefined
          ? {
              portNumber: [String(request.remotePort)],
              localPortNumber: [String(request.localPort ?? 0)],
              ...(request.remoteHost === undefined ? {} : { host: [request.remoteHost] }),
              ...request.parameters,
            }
          : { ...request.parameters };
      const output = await call('StartSession', `target ${request.target}`, () =>
        client.send(
          new StartSessionCommand({
            Target: request.target,
            DocumentName: request.document ?? (request.remoteHost === undefined ? PORT_FORWARDING_DOCUMENT : REMOTE_HOST_DOCUMENT),
            Parameters: parameters,
            ...(request.reason === undefined ? {} : { Reason: request.reason }),
          }),
        ),
      );
      const { SessionId: sessionId, StreamUrl: streamUrl, TokenValue: tokenValue } = output;
      if (!sessionId || !streamUrl || !tokenValue) {
        const missing = !sessionId ? 'SessionId' : !streamUrl ? 'StreamUrl' : 'TokenValue';
        throw new SsmTunnelError(ErrorCode.PROTOCOL, `StartSession for target ${request.target} returned a response without ${missing}`);
      }
      return { sessionId, streamUrl, tokenValue };
    },

    async resumeSession(sessionId: string): Promise<ResumeResult> {
      const output = await call('ResumeSession', `session ${sessionId}`, () => client.send(new ResumeSessionCommand({ SessionId: sessionId })));
      return {
        ...(output.TokenValue ? { tokenValue: output.TokenValue } : {}),
        ...(output.StreamUrl ? { streamUrl: output.StreamUrl } : {}),
      };
    },

    async terminateSession(sessionId: string): Promise<void> {
      await call('TerminateSession', `session ${sessionId}`, () => client.send(new TerminateSessionCommand({ SessionId: sessionId })));
    },

    async describeManagedNodes(filters: ManagedNodeFilter[]): Promise<ManagedNode[]> {
      const subject = filters.length === 0 ? 'all managed nodes' : `filters ${filters.map((f) => `${f.key}=${f.values.join('|')}`).join(', ')}`;
      const nodes: ManagedNode[] = [];
      let nextToken: string | undefined;
      do {
        const page = await call('DescribeInstanceInformation', subject, () =>
          client.send(
            new DescribeInstanceInformationCommand({
              ...(filters.length === 0 ? {} : { Filters: filters.map((f) => ({ Key: f.key, Values: f.values })) }),
              ...(nextToken === undefined ? {} : { NextToken: nextToken }),
            }),
          ),
        );
        nodes.push(...(page.InstanceInformationList ?? []).flatMap(toManagedNode));
        nextToken = page.NextToken;
      } while (nextToken);
      return nodes;
    },

    async describeNodeNames(): Promise<Map<string, string>> {
      const names = new Map<string, string>();
      let nextToken: string | undefined;
      do {
        const page = await call('DescribeInstanceProperties', 'all managed nodes', () =>
          client.send(new DescribeInstancePropertiesCommand(nextToken === undefined ? {} : { NextToken: nextToken })),
        );
        for (const node of page.InstanceProperties ?? []) {
          if (node.InstanceId !== undefined && node.Name !== undefined && node.Name !== '') names.set(node.InstanceId, node.Name);
        }
        nextToken = page.NextToken;
      } while (nextToken);
      return names;
    },

    async describeEcsServiceTasks(cluster: string, service: string): Promise<EcsTask[]> {
      ecs ??= import('./ecs-task-api.js').then(({ createEcsTaskLister }) => createEcsTaskLister(ecsClientConfig(options, agent), call));
      return (await ecs).serviceTasks(cluster, service);
    },

    destroy(): void {
      client.destroy();
      void ecs?.then((lister) => lister.destroy(), () => undefined);
    },
  };
}

/**
 * The ECS client's settings: the SSM client's (its network agent too: same proxy, same CAs), except
 * the endpoint. A custom SSM endpoint (a VPC endpoint) says nothing about ECS, unless it is
 * loopback: the emulator answers both APIs.
 */
function ecsClientConfig(options: SsmSessionApiOptions, agent: NetworkAgent): ECSClientConfig {
  const config: ECSClientConfig = { requestHandler: { httpsAgent: agent, httpAgent: agent } };
  if (options.region !== undefined) config.region = options.region;
  if (options.profile !== undefined) config.profile = options.profile;
  if (options.credentials !== undefined) config.credentials = { ...options.credentials };
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  const endpoint = options.ecsEndpoint ?? (options.endpoint !== undefined && isLoopbackUrl(options.endpoint) ? options.endpoint : undefined);
  if (endpoint !== undefined) config.endpoint = endpoint;
  return config;
}

function toManagedNode(info: InstanceInformation): ManagedNode[] {
  if (info.InstanceId === undefined) return [];
  return [
    {
      instanceId: info.InstanceId,
      pingStatus: info.PingStatus ?? 'Unknown',
      ...(info.ComputerName === undefined ? {} : { computerName: info.ComputerName }),
      ...(info.PlatformType === undefined ? {} : { platformType: info.PlatformType }),
      ...(info.PlatformName === undefined ? {} : { platformName: [info.PlatformName, info.PlatformVersion].filter(Boolean).join(' ') }),
      ...(info.AgentVersion === undefined ? {} : { agentVersion: info.AgentVersion }),
      ...(info.LastPingDateTime === undefined ? {} : { lastPingAt: info.LastPingDateTime }),
    },
  ];
}
