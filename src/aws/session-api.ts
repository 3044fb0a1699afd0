import type { Agent } from 'node:http';

/*
 * The session operations everything above aws/ relies on. Only aws/ implements this with the SDK;
 * tests point that implementation at the emulator's real HTTP endpoint.
 */

export interface StartSessionRequest {
  /** Instance or managed node id (`i-…`, `mi-…`), as given to StartSession's Target. */
  target: string;
  /** Set: `AWS-StartPortForwardingSessionToRemoteHost`; unset: `AWS-StartPortForwardingSession`. */
  remoteHost?: string;
  remotePort: number;
  /** Passed as the document's `localPortNumber` (the agent echoes it back in the handshake). */
  localPort?: number;
  reason?: string;
}

export interface SessionGrant {
  sessionId: string;
  streamUrl: string;
  tokenValue: string;
}

export interface ResumeResult {
  /** Absent when the service no longer has the session (timed out, terminated): start anew. */
  tokenValue?: string;
  streamUrl?: string;
}

export interface ManagedNode {
  instanceId: string;
  pingStatus: string;
  computerName?: string;
  tags?: Record<string, string>;
}

/** A DescribeInstanceInformation string filter: `InstanceIds`, `PingStatus`, `tag-key`, `tag:<Key>`, … */
export interface ManagedNodeFilter {
  key: string;
  values: string[];
}

/** One container of an ECS task, as DescribeTasks reports it. */
export interface EcsContainer {
  name: string;
  /** The container runtime id: the third part of an `ecs:` session target. */
  runtimeId?: string;
  /** `lastStatus` of the container's `ExecuteCommandAgent` (ECS Exec's SSM agent); absent when it has none. */
  execAgentStatus?: string;
}

/** One task of an ECS service, as DescribeTasks reports it. */
export interface EcsTask {
  taskArn: string;
  /** The last part of the task ARN. */
  taskId: string;
  lastStatus: string;
  enableExecuteCommand: boolean;
  containers: EcsContainer[];
}

export interface SessionApi {
  startSession(request: StartSessionRequest): Promise<SessionGrant>;
  resumeSession(sessionId: string): Promise<ResumeResult>;
  terminateSession(sessionId: string): Promise<void>;
  /** Managed nodes matching every filter (all pages); needed only for targets given by name or tag. */
  describeManagedNodes?(filters: ManagedNodeFilter[]): Promise<ManagedNode[]>;
  /**
   * The agent the data channel's WebSocket connects with, the same the API calls use (proxy, CA
   * bundle); unset: a direct connection trusting Node's CAs.
   */
  readonly webSocketAgent?: Agent;
  /**
   * The tasks of an ECS service whose desired status is RUNNING (ListTasks, all pages, then
   * DescribeTasks); needed only for targets given as `{ ecs: { cluster, service } }`.
   */
  describeEcsServiceTasks?(cluster: string, service: string): Promise<EcsTask[]>;
}

/** How to reach and authenticate to SSM. Every field is optional; the SDK's defaults fill the rest. */
export interface AwsConnectionOptions {
  region?: string;
  /** A profile from ~/.aws/config, including SSO profiles. */
  profile?: string;
  /** Custom SSM endpoint: a VPC endpoint, or the emulator's URL. */
  endpoint?: string;
  /**
   * Custom ECS endpoint, for ECS service targets. Default: the SDK's (which honours
   * `AWS_ENDPOINT_URL_ECS`), or `endpoint` when that is a loopback URL (the emulator serves both APIs).
   */
  ecsEndpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * Outbound proxy for the API calls and the data channel: `http://[user:pass@]host:port`, or
   * `none` for no proxy at all. Unset: HTTPS_PROXY / HTTP_PROXY / NO_PROXY decide.
   */
  proxy?: string;
  /**
   * A PEM file of CAs to trust besides Node's defaults, for the API and the data channel. Unset:
   * AWS_CA_BUNDLE, then the profile's `ca_bundle`.
   */
  caBundle?: string;
}
