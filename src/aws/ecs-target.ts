import { ErrorCode, SsmTunnelError } from '../errors.js';
import type { EcsTask, SessionApi } from './session-api.js';

/*
 * ECS tasks as session targets. Session Manager takes `ecs:<cluster>_<task id>_<container runtime
 * id>`; a target given as a cluster and a service is resolved to that id with ListTasks and
 * DescribeTasks before every new session, so a redeploy (new task ids) is followed on the next one.
 */

/** A container of a task of an ECS service; `container` may be left out when tasks have one. */
export interface EcsServiceTarget {
  cluster: string;
  service: string;
  container?: string;
}

export const ECS_ID_PREFIX = 'ecs:';

/** ECS names: letters, digits, hyphens and underscores, 1–255 characters (an API limit). */
const ECS_NAME = /^[A-Za-z0-9_-]{1,255}$/;
/** The task's last part and the runtime id have no `_`; the cluster name may, so split from the right. */
const ECS_ID = /^ecs:([A-Za-z0-9_-]{1,255})_([A-Za-z0-9-]{1,64})_([A-Za-z0-9-]{1,128})$/;

export interface EcsTargetId {
  cluster: string;
  taskId: string;
  runtimeId: string;
}

/** The parts of a raw `ecs:` target, or undefined when it is not one. */
export function parseEcsTargetId(id: string): EcsTargetId | undefined {
  const match = ECS_ID.exec(id);
  if (match === null) return undefined;
  return { cluster: match[1]!, taskId: match[2]!, runtimeId: match[3]! };
}

export function formatEcsTargetId(parts: EcsTargetId): string {
  return `${ECS_ID_PREFIX}${parts.cluster}_${parts.taskId}_${parts.runtimeId}`;
}

/** Undefined when `spec` is a valid `{ cluster, service, container? }`; otherwise what is wrong. */
export function ecsServiceTargetProblem(spec: unknown): string | undefined {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return 'ecs must be a mapping { cluster, service, container? }';
  const fields = spec as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !['cluster', 'service', 'container'].includes(key));
  if (unknown.length > 0) return `ecs takes cluster, service and container, not ${unknown.map((key) => JSON.stringify(key)).join(', ')}`;
  for (const key of ['cluster', 'service', 'container'] as const) {
    const value = fields[key];
    if (value === undefined && key === 'container') continue;
    if (typeof value !== 'string' || !ECS_NAME.test(value)) {
      return `ecs.${key} must be an ECS name (letters, digits, - and _, up to 255 characters), got ${JSON.stringify(value) ?? String(value)}`;
    }
  }
  return undefined;
}

/** `ecs:prod/api` or `ecs:prod/api/app`, for logs and status (raw ids have `_` where these have `/`). */
export function formatEcsServiceTarget(spec: EcsServiceTarget): string {
  return `${ECS_ID_PREFIX}${spec.cluster}/${spec.service}${spec.container === undefined ? '' : `/${spec.container}`}`;
}

/**
 * The session target for a running task of the service: a container whose ECS Exec agent is
 * running. With several such tasks one is picked at random, so sessions spread over the service.
 */
export async function resolveEcsServiceTarget(spec: EcsServiceTarget, api: SessionApi, random: () => number = Math.random): Promise<string> {
  const what = `ECS service ${spec.service} in cluster ${spec.cluster}`;
  if (api.describeEcsServiceTasks === undefined) {
    throw new SsmTunnelError(ErrorCode.TARGET_LOOKUP_UNAVAILABLE, `target ${formatEcsServiceTarget(spec)} needs the ECS API, which this session API does not offer; give an ecs:<cluster>_<task>_<runtime id> target`);
  }
  let tasks: EcsTask[];
  try {
    tasks = await api.describeEcsServiceTasks(spec.cluster, spec.service);
  } catch (error) {
    throw explainEcsError(error, what);
  }
  const running = tasks.filter((task) => task.lastStatus === 'RUNNING');
  if (running.length === 0) {
    throw new SsmTunnelError(ErrorCode.TARGET_NOT_FOUND, `no running task in ${what}: ${countByStatus(tasks)}`);
  }
  const withExec = running.filter((task) => task.enableExecuteCommand);
  if (withExec.length === 0) {
    throw new SsmTunnelError(
      ErrorCode.ECS_EXEC_UNAVAILABLE,
      `ECS Exec is off for ${what} (enableExecuteCommand is false on its ${running.length} running task${running.length === 1 ? '' : 's'}); ` +
        `turn it on with: aws ecs update-service --cluster ${spec.cluster} --service ${spec.service} --enable-execute-command --force-new-deployment`,
    );
  }
  const names = [...new Set(withExec.flatMap((task) => task.containers.map((container) => container.name)))];
  const container = spec.container ?? (names.length === 1 ? names[0] : undefined);
  if (container === undefined) {
    throw new SsmTunnelError(ErrorCode.AMBIGUOUS_TARGET, `the tasks of ${what} have ${names.length} containers (${names.join(', ')}); name one with container:`);
  }
  if (!names.includes(container)) {
    throw new SsmTunnelError(ErrorCode.TARGET_NOT_FOUND, `the tasks of ${what} have no container ${container}; they have ${names.join(', ')}`);
  }
  const ready = withExec.flatMap((task) => {
    const found = task.containers.find((c) => c.name === container);
    return found?.runtimeId !== undefined && found.execAgentStatus === 'RUNNING' ? [{ task, runtimeId: found.runtimeId }] : [];
  });
  if (ready.length === 0) {
    const statuses = withExec.map((task) => `${task.taskId}: ${task.containers.find((c) => c.name === container)?.execAgentStatus ?? 'no agent'}`);
    throw new SsmTunnelError(
      ErrorCode.ECS_EXEC_UNAVAILABLE,
      `the ECS Exec agent (ExecuteCommandAgent) is not running in container ${container} of any running task of ${what} (${statuses.join(', ')}); it starts shortly after the task, or the task role lacks the ssmmessages permissions`,
    );
  }
  const chosen = ready[Math.min(ready.length - 1, Math.floor(random() * ready.length))]!;
  return formatEcsTargetId({ cluster: clusterName(spec.cluster), taskId: chosen.task.taskId, runtimeId: chosen.runtimeId });
}

/** A cluster given by ARN (`arn:aws:ecs:…:cluster/prod`) is named by its last part in session targets. */
function clusterName(cluster: string): string {
  return cluster.slice(cluster.lastIndexOf('/') + 1);
}

function countByStatus(tasks: readonly EcsTask[]): string {
  if (tasks.length === 0) return 'it has no tasks (desired status RUNNING)';
  const counts = new Map<string, number>();
  for (const task of tasks) counts.set(task.lastStatus, (counts.get(task.lastStatus) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${count} ${status.toLowerCase()}`).join(', ');
}

/** AccessDenied names the ECS action to allow; other errors pass with the service's code. */
function explainEcsError(error: unknown, what: string): unknown {
  const name = (error as { name?: unknown }).name;
  const operation = (error as { operation?: unknown }).operation;
  if (name !== 'AccessDeniedException' && name !== 'AccessDenied') return error;
  const action = typeof operation === 'string' && operation.startsWith('ecs:') ? operation : 'ecs:ListTasks or ecs:DescribeTasks';
  return new SsmTunnelError(
    'AccessDeniedException',
    `not allowed to call ${action} for ${what}; an ECS service target needs ecs:ListTasks and ecs:DescribeTasks in the identity's IAM policy`,
    { cause: error },
  );
}
