import { describe, expect, it } from 'vitest';
import { parseEcsTargetId, resolveEcsServiceTarget } from '../../src/aws/ecs-target.js';
import type { EcsTask, SessionApi } from '../../src/aws/session-api.js';
import { ErrorCode, SsmTunnelError } from '../../src/errors.js';

function task(taskId: string, overrides: Partial<EcsTask> = {}): EcsTask {
  return {
    taskArn: `arn:aws:ecs:eu-west-1:123456789012:task/prod/${taskId}`,
    taskId,
    lastStatus: 'RUNNING',
    enableExecuteCommand: true,
    containers: [{ name: 'app', runtimeId: `${taskId}-1`, execAgentStatus: 'RUNNING' }],
    ...overrides,
  };
}

function api(tasks: EcsTask[]): SessionApi {
  const unused = (): never => {
    throw new Error('not used');
  };
  return { startSession: unused, resumeSession: unused, terminateSession: unused, describeEcsServiceTasks: () => Promise.resolve(tasks) };
}

async function failure(promise: Promise<unknown>): Promise<SsmTunnelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SsmTunnelError);
  return error as SsmTunnelError;
}

describe('ECS service targets', () => {
  it('spread sessions over the ready tasks at random', async () => {
    const tasks = [task('aaa'), task('bbb'), task('ccc')];
    const picked = await Promise.all([0, 0.5, 0.99].map((r) => resolveEcsServiceTarget({ cluster: 'prod', service: 'api' }, api(tasks), () => r)));
    expect(picked).toEqual(['ecs:prod_aaa_aaa-1', 'ecs:prod_bbb_bbb-1', 'ecs:prod_ccc_ccc-1']);
  });

  it('skip tasks whose ECS Exec agent is not running yet, and name the cluster by its last ARN part', async () => {
    const starting = task('aaa', { containers: [{ name: 'app', runtimeId: 'aaa-1', execAgentStatus: 'PENDING' }] });
    const target = await resolveEcsServiceTarget({ cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod', service: 'api' }, api([starting, task('bbb')]));
    expect(target).toBe('ecs:prod_bbb_bbb-1');
  });

  it('say the agent is not running when no task has it running', async () => {
    const starting = task('aaa', { containers: [{ name: 'app', runtimeId: 'aaa-1', execAgentStatus: 'PENDING' }] });
    const error = await failure(resolveEcsServiceTarget({ cluster: 'prod', service: 'api' }, api([starting])));
    expect(error.code).toBe(ErrorCode.ECS_EXEC_UNAVAILABLE);
    expect(error.message).toContain('aaa: PENDING');
  });

  it('count the tasks by status when none is running', async () => {
    const error = await failure(resolveEcsServiceTarget({ cluster: 'prod', service: 'api' }, api([task('a', { lastStatus: 'PENDING' }), task('b', { lastStatus: 'PROVISIONING' })])));
    expect(error.code).toBe(ErrorCode.TARGET_NOT_FOUND);
    expect(error.message).toContain('1 pending, 1 provisioning');
  });

  it('name the containers there are when the one asked for is not among them', async () => {
    const error = await failure(resolveEcsServiceTarget({ cluster: 'prod', service: 'api', container: 'web' }, api([task('a')])));
    expect(error.code).toBe(ErrorCode.TARGET_NOT_FOUND);
    expect(error.message).toContain('they have app');
  });
});

describe('raw ecs: targets', () => {
  it('split from the right, since cluster names may hold underscores', () => {
    expect(parseEcsTargetId('ecs:my_cluster_0123abcd_0123abcd-42')).toEqual({ cluster: 'my_cluster', taskId: '0123abcd', runtimeId: '0123abcd-42' });
    expect(parseEcsTargetId('ecs:prod_only-two')).toBeUndefined();
    expect(parseEcsTargetId('i-0123456789abcdef0')).toBeUndefined();
  });
});
