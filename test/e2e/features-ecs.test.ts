/*
 * ECS tasks as targets, against the emulator's ECS API: a service resolved to a running task with
 * ECS Exec, raw ecs: ids, a redeploy followed on the next session, and errors that say what to do.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TargetSpec } from '../../src/aws/target-resolver.js';
import { startEmulator, type Emulator, type EmulatedEcsTaskConfig } from '../../src/emulator/index.js';
import { ErrorCode, openTunnel, SsmTunnelError, type Tunnel } from '../../src/index.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { roundTrip } from '../helpers/transfer.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(ecsTasks: EmulatedEcsTaskConfig[], options: { deniedActions?: string[] } = {}): Promise<{ emulator: Emulator; echo: Destination }> {
  const echo = await echoServer();
  const emulator = await startEmulator({ pacing: false, ecsTasks, ...options });
  cleanups.push(() => echo.close(), () => emulator.close());
  return { emulator, echo };
}

async function open(emulator: Emulator, echo: Destination, target: TargetSpec): Promise<Tunnel> {
  const tunnel = await openTunnel({
    target,
    remoteHost: '127.0.0.1',
    remotePort: echo.port,
    endpoint: emulator.endpoint,
    region: emulator.region,
    credentials: emulator.credentials,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
  });
  cleanups.push(() => tunnel.close());
  return tunnel;
}

async function rejection(promise: Promise<unknown>): Promise<SsmTunnelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SsmTunnelError);
  return error as SsmTunnelError;
}

const API = { cluster: 'prod', service: 'api' };

describe('ECS tasks as targets', () => {
  it('forwards through a running task of a service given by cluster and service', async () => {
    const { emulator, echo } = await setup([{ ...API, containers: ['app'] }]);
    const tunnel = await open(emulator, echo, { ecs: API });
    const payload = randomBytes(50_000);
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    const [task] = emulator.ecs.list('prod', 'api');
    expect(tunnel.stats.targetId).toBe(task!.containers[0]!.targetId);
    expect(tunnel.stats.targetId).toMatch(/^ecs:prod_[0-9a-f]{32}_[0-9a-f]{32}-\d+$/);
    const calls = emulator.record.apiCalls.map((call) => call.operation);
    expect(calls).toEqual(expect.arrayContaining(['ecs:ListTasks', 'ecs:DescribeTasks', 'StartSession']));
  });

  it('accepts a raw ecs:<cluster>_<task>_<runtime id> target as it is', async () => {
    const { emulator, echo } = await setup([{ ...API }]);
    const targetId = emulator.ecs.list()[0]!.containers[0]!.targetId;
    const tunnel = await open(emulator, echo, targetId);
    const payload = randomBytes(5000);
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    expect(emulator.record.apiCalls.some((call) => call.operation.startsWith('ecs:'))).toBe(false);
  });

  it('picks the named container of a task that has several', async () => {
    const { emulator, echo } = await setup([{ ...API, containers: ['envoy', 'app'] }]);
    const tunnel = await open(emulator, echo, { ecs: { ...API, container: 'app' } });
    const app = emulator.ecs.list()[0]!.containers.find((c) => c.name === 'app')!;
    expect(tunnel.stats.targetId).toBe(app.targetId);
  });

  it('follows a redeploy: when the task is replaced, the tunnel reconnects to the new one', async () => {
    const { emulator, echo } = await setup([{ ...API }]);
    const tunnel = await open(emulator, echo, { ecs: API });
    const firstTarget = tunnel.stats.targetId;
    const firstSession = tunnel.sessionId!;

    const [replacement] = emulator.ecs.replace('prod', 'api');
    const newTarget = replacement!.containers[0]!.targetId;
    expect(newTarget).not.toBe(firstTarget);
    await waitFor(() => tunnel.state === 'ready' && tunnel.stats.targetId === newTarget, 'a session on the new task');

    const payload = randomBytes(20_000);
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    expect(emulator.sessionRecord(firstSession)?.state).toBe('terminated');
    expect(emulator.record.sessions.map((s) => s.target)).toEqual([firstTarget, newTarget]);
  });

  it('fails at once when the service has no running task', async () => {
    const { emulator, echo } = await setup([{ ...API }]);
    emulator.ecs.stop(emulator.ecs.list()[0]!.taskId);
    const error = await rejection(open(emulator, echo, { ecs: API }));
    expect(error.code).toBe(ErrorCode.TARGET_NOT_FOUND);
    expect(error.retryable).toBe(false);
    expect(emulator.record.sessions).toHaveLength(0);
  });

  it('says ECS Exec is off for the service and how to turn it on', async () => {
    const { emulator, echo } = await setup([{ ...API, enableExecuteCommand: false }]);
    const error = await rejection(open(emulator, echo, { ecs: API }));
    expect(error.code).toBe(ErrorCode.ECS_EXEC_UNAVAILABLE);
    expect(error.message).toContain('enableExecuteCommand');
    expect(error.message).toContain('--enable-execute-command');
    expect(emulator.record.sessions).toHaveLength(0);
  });

  it('lists the containers when a task has several and none is named', async () => {
    const { emulator, echo } = await setup([{ ...API, containers: ['app', 'envoy'] }]);
    const error = await rejection(open(emulator, echo, { ecs: API }));
    expect(error.code).toBe(ErrorCode.AMBIGUOUS_TARGET);
    expect(error.message).toContain('app, envoy');
  });

  it('names the ECS action the identity may not call', async () => {
    const { emulator, echo } = await setup([{ ...API }], { deniedActions: ['ecs:DescribeTasks'] });
    const error = await rejection(open(emulator, echo, { ecs: API }));
    expect(error.code).toBe('AccessDeniedException');
    expect(error.message).toContain('ecs:DescribeTasks');
    expect(error.retryable).toBe(false);
  });

  it('rejects a malformed ECS target before any call', async () => {
    await expect(openTunnel({ target: { ecs: { cluster: 'prod', service: '' } }, remotePort: 1 })).rejects.toThrow(/ecs\.service must be an ECS name/);
    await expect(openTunnel({ target: 'ecs:prod', remotePort: 1 })).rejects.toThrow(/ecs:<cluster>_<task id>_<container runtime id>/);
  });
});

describe('ECS targets from the command line and the config', () => {
  it('ssm-tunnel open --ecs-cluster --ecs-service forwards through the emulator started with --ecs-task', async () => {
    const echo = await echoServer();
    cleanups.push(() => echo.close());
    const emulatorCli = spawnCli(['emulator', '--ecs-task', `prod/api/app=127.0.0.1:${echo.port}`, '--no-pacing']);
    cleanups.push(() => emulatorCli.kill());
    await waitFor(() => /AWS_REGION=/.test(emulatorCli.stdout), 'the emulator to print its credentials');
    const endpoint = /listening on (http:\/\/\S+)/.exec(emulatorCli.stdout)![1]!;
    const accessKey = /AWS_ACCESS_KEY_ID=(\S+)/.exec(emulatorCli.stdout)![1]!;
    const secretKey = /AWS_SECRET_ACCESS_KEY='([^']+)'/.exec(emulatorCli.stdout)![1]!;
    expect(emulatorCli.stdout).toMatch(/ECS task prod\/api\/app: target ecs:prod_[0-9a-f]{32}_\S+/);

    const openCli = spawnCli(['open', '--ecs-cluster', 'prod', '--ecs-service', 'api', '--remote-port', String(echo.port), '--endpoint', endpoint, '--region', 'us-east-1'], {
      env: { AWS_ACCESS_KEY_ID: accessKey, AWS_SECRET_ACCESS_KEY: secretKey },
    });
    cleanups.push(() => openCli.kill());
    await waitFor(() => openCli.stdout.includes('Waiting for connections...'), 'the ready line');
    const port = Number(/^Forwarding 127\.0\.0\.1:(\d+) -> /m.exec(openCli.stdout)![1]);
    const payload = randomBytes(10_000);
    expect((await roundTrip(port, payload)).equals(payload)).toBe(true);
  });

  it('open refuses mixed or half-given target options as a usage error', async () => {
    const mixed = await runCli(['open', '--target', 'i-1', '--ecs-cluster', 'prod', '--ecs-service', 'api', '--remote-port', '1']);
    expect(mixed.code).toBe(2);
    const half = await runCli(['open', '--ecs-cluster', 'prod', '--remote-port', '1']);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('--ecs-cluster and --ecs-service go together');
  });

  it('check accepts an ecs target in the config and points at a malformed one by line and column', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-ecs-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const good = join(dir, 'good.yaml');
    await writeFile(
      good,
      ['tunnels:', '  - name: db', '    target: { ecs: { cluster: prod, service: api, container: app } }', '    remote: { host: db.internal, port: 5432 }', '    local: { port: 15432 }', ''].join('\n'),
    );
    const ok = await runCli(['check', '--config', good]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('ecs:prod/api/app');

    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, ['tunnels:', '  - name: db', '    target:', '      ecs: { cluster: prod, container: "a b" }', '    remote: { port: 5432 }', '    local: { port: 15432 }', ''].join('\n'));
    const failed = await runCli(['check', '--config', bad]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(new RegExp(`${bad}:4:\\d+ tunnels\\[0\\]\\.target\\.ecs\\.service: missing`));
    expect(failed.stderr).toMatch(new RegExp(`${bad}:4:\\d+ tunnels\\[0\\]\\.target\\.ecs\\.container: expected an ECS name`));
  });
});
