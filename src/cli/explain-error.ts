import type { AwsConnectionOptions, ManagedNode } from '../aws/session-api.js';
import { errorCode, ErrorCode, SsmTunnelError } from '../errors.js';

/*
 * The one place that turns errors a person can fix into a message saying how. The code stays the
 * AWS name (or ours), the original error is the cause; errors not listed here pass unchanged.
 */

export interface ExplainContext {
  /** --profile; else AWS_PROFILE; else `default`. */
  profile?: string;
  /** The node a TargetNotConnected was about, when it is an id. */
  targetId?: string;
  /** Looks the node up (DescribeInstanceInformation); may fail when that call is not allowed. */
  describeNode?: (id: string) => Promise<ManagedNode | undefined>;
}

const VPC_ENDPOINTS = 'ssm, ssmmessages and ec2messages';

/** Every error a command shows, first passed through here. */
export async function explainError(error: unknown, context: ExplainContext = {}): Promise<unknown> {
  const code = errorCode(error);
  const text = messageChain(error);
  const profile = context.profile ?? process.env.AWS_PROFILE ?? 'default';
  if (code === 'CredentialsProviderError' && /\bSSO\b/.test(text) && /expired|refresh/i.test(text)) {
    return new SsmTunnelError(code, `the SSO session for profile ${profile} has expired; run: aws sso login --profile ${profile}`, { cause: error });
  }
  if (code === 'ExpiredTokenException' || code === 'ExpiredToken') {
    return new SsmTunnelError(
      code,
      `the AWS credentials have expired (${code}); for an SSO profile run: aws sso login --profile ${profile}; otherwise get new keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)`,
      { cause: error },
    );
  }
  if (/Region is missing/.test(text)) return missingRegionError(context.profile, error);
  if (code === 'TargetNotConnected') {
    const target = context.targetId ?? 'the target';
    return new SsmTunnelError(code, `${target} is not connected to Session Manager (TargetNotConnected)${await pingNote(context)}.\n${notConnectedAdvice()}`, {
      cause: error,
    });
  }
  return error;
}

/** No region anywhere the SDK looks: say which flag or variable sets one. */
export function missingRegionError(profile: string | undefined, cause?: unknown): SsmTunnelError {
  const where = profile === undefined ? 'or set region in ~/.aws/config' : `or set region for the profile (aws configure set region <region> --profile ${profile})`;
  return new SsmTunnelError(ErrorCode.REGION_MISSING, `no AWS region is set: pass --region, set AWS_REGION, ${where}`, cause === undefined ? {} : { cause });
}

function notConnectedAdvice(): string {
  return `Check that the SSM agent runs on the node and that it shows Online in \`ssm-tunnel targets\`; a node without internet access needs VPC endpoints for ${VPC_ENDPOINTS}.`;
}

async function pingNote(context: ExplainContext): Promise<string> {
  if (context.targetId === undefined || context.describeNode === undefined) return '';
  let node: ManagedNode | undefined;
  try {
    node = await context.describeNode(context.targetId);
  } catch {
    // Not allowed (no ssm:DescribeInstanceInformation) or unreachable: the advice stands alone.
    return '';
  }
  if (node === undefined) return ': SSM has no managed node with this id in this region and account';
  const when = node.lastPingAt === undefined ? '' : `, last ping ${node.lastPingAt.toISOString()}`;
  return `: its ping status is ${node.pingStatus}${when}`;
}

/** The message of an error and of its causes, for matching what the SDK says inside. */
function messageChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    parts.push(current.message);
    current = current.cause;
  }
  return parts.join('\n');
}

/** explainError for a failed `open`: looks the target up (DescribeInstanceInformation) when it is a node id. */
export async function explainOpenError(error: unknown, options: AwsConnectionOptions & { target?: string | undefined }): Promise<unknown> {
  const { createSsmSessionApi } = await import('../aws/ssm-session-api.js');
  const targetId = options.target !== undefined && /^(i|mi)-[0-9a-f]+$/.test(options.target) ? options.target : undefined;
  const { target: _target, ...connection } = options;
  const api = createSsmSessionApi({ ...connection, maxAttempts: 1 });
  try {
    return await explainError(error, {
      ...(options.profile === undefined ? {} : { profile: options.profile }),
      ...(targetId === undefined ? {} : { targetId }),
      describeNode: async (id) => (await api.describeManagedNodes([{ key: 'InstanceIds', values: [id] }]))[0],
    });
  } finally {
    api.destroy();
  }
}
