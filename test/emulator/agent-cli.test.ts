import { describe, expect, it } from 'vitest';
import { parseEcsTaskSpec, parseTargetSpec } from '../../src/cli/commands/emulator.js';

describe('ssm-tunnel emulator --target', () => {
  it('reads ID, ID=HOST and ID=HOST:PORT', () => {
    expect(parseTargetSpec('i-0123456789abcdef0')).toEqual(['i-0123456789abcdef0', {}]);
    expect(parseTargetSpec('mi-1=10.0.0.5')).toEqual(['mi-1', { address: '10.0.0.5' }]);
    expect(parseTargetSpec('i-1=127.0.0.1:5432')).toEqual([
      'i-1',
      { address: '127.0.0.1', allowedDestinations: ['127.0.0.1:5432', 'localhost:5432'] },
    ]);
    expect(parseTargetSpec('i-1=[::1]:8080')).toEqual(['i-1', { address: '::1', allowedDestinations: ['[::1]:8080', 'localhost:8080'] }]);
  });

  it('names the problem in a bad spec', () => {
    expect(() => parseTargetSpec('=127.0.0.1')).toThrow('the target id is empty');
    expect(() => parseTargetSpec('i-1=127.0.0.1:99999')).toThrow('port 99999 is not 1-65535');
    expect(() => parseTargetSpec('i-1=::1:80')).toThrow(`expected HOST or HOST:PORT after '=', got "::1:80"`);
  });
});

describe('ssm-tunnel emulator --ecs-task', () => {
  it('reads CLUSTER/SERVICE/CONTAINER with several containers and an address', () => {
    expect(parseEcsTaskSpec('prod/api/app')).toEqual({ cluster: 'prod', service: 'api', containers: ['app'] });
    expect(parseEcsTaskSpec('prod/api/app,envoy=127.0.0.1:5432')).toEqual({
      cluster: 'prod',
      service: 'api',
      containers: ['app', 'envoy'],
      address: '127.0.0.1',
      allowedDestinations: ['127.0.0.1:5432', 'localhost:5432'],
    });
  });

  it('names the problem in a bad spec', () => {
    expect(() => parseEcsTaskSpec('prod/api')).toThrow('expected CLUSTER/SERVICE/CONTAINER');
    expect(() => parseEcsTaskSpec('prod/api/app,')).toThrow('a container name is empty');
    expect(() => parseEcsTaskSpec('prod/api/app=127.0.0.1:0')).toThrow('--ecs-task "prod/api/app=127.0.0.1:0": port 0 is not 1-65535');
  });
});
