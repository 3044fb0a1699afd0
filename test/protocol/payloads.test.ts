import { describe, expect, it } from 'vitest';
import {
  ActionStatus,
  decodeAcknowledgement,
  decodeChannelClosed,
  decodeFlag,
  decodeHandshakeComplete,
  decodeHandshakeRequest,
  decodeHandshakeResponse,
  decodeOpenDataChannel,
  decodeSessionTypeParameters,
  encodeFlag,
  encodeHandshakeResponse,
  encodeOpenDataChannel,
  Flag,
  flagName,
  ProtocolError,
} from '../../src/protocol/index.js';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError, but nothing was thrown');
}

describe('Flag payloads (docs/protocol.md §3.4)', () => {
  it.each([
    [Flag.DisconnectToPort, '00000001', 'DisconnectToPort'],
    [Flag.TerminateSession, '00000002', 'TerminateSession'],
    [Flag.ConnectToPortError, '00000003', 'ConnectToPortError'],
  ])('flag %i is the big-endian uint32 %s (%s)', (value, bytes, name) => {
    expect(encodeFlag(value).toString('hex')).toBe(bytes);
    expect(decodeFlag(Buffer.from(bytes, 'hex'))).toBe(value);
    expect(flagName(value)).toBe(name);
  });

  it('reads a payload shorter than 4 bytes as 0, which is ignored (docs/protocol.md §3.4)', () => {
    expect(decodeFlag(Buffer.from([0, 3]))).toBe(0);
  });

  it('names an unknown flag value', () => {
    expect(flagName(9)).toBe('Unknown(9)');
  });
});

describe('required JSON keys', () => {
  it.each([
    ['Acknowledgement', () => decodeAcknowledgement(json({ AcknowledgedMessageId: 'x' })), 'Acknowledgement.AcknowledgedMessageSequenceNumber'],
    ['HandshakeRequest without AgentVersion', () => decodeHandshakeRequest(json({ RequestedClientActions: [] })), 'HandshakeRequest.AgentVersion'],
    [
      'HandshakeRequest without RequestedClientActions',
      () => decodeHandshakeRequest(json({ AgentVersion: '3.3.987.0' })),
      'HandshakeRequest.RequestedClientActions',
    ],
    [
      'HandshakeRequest action without ActionType',
      () => decodeHandshakeRequest(json({ AgentVersion: '3.3.987.0', RequestedClientActions: [{ ActionParameters: {} }] })),
      'HandshakeRequest.RequestedClientActions[0].ActionType',
    ],
    ['HandshakeResponse', () => decodeHandshakeResponse(json({ ProcessedClientActions: [] })), 'HandshakeResponse.ClientVersion'],
    [
      'HandshakeResponse action without ActionStatus',
      () => decodeHandshakeResponse(json({ ClientVersion: '1', ProcessedClientActions: [{ ActionType: 'SessionType' }] })),
      'HandshakeResponse.ProcessedClientActions[0].ActionStatus',
    ],
    ['SessionType parameters', () => decodeSessionTypeParameters({ Properties: {} }), 'SessionType.ActionParameters.SessionType'],
    ['OpenDataChannel', () => decodeOpenDataChannel(JSON.stringify({ MessageSchemaVersion: '1.0', RequestId: 'r' })), 'OpenDataChannel.TokenValue'],
  ])('%s: a missing key is a ProtocolError naming it', (_what, decode, field) => {
    const error = protocolError(decode);
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.message).toContain('missing');
  });

  it('names the value seen when a key has the wrong type', () => {
    const error = protocolError(() => decodeAcknowledgement(json({ AcknowledgedMessageSequenceNumber: '7' })));
    expect(error.message).toContain('"7"');
    expect(error.message).toContain('an integer');
  });

  it.each([
    ['not JSON', Buffer.from('{"Agent')],
    ['an array', json([1, 2])],
    ['null', json(null)],
    ['a string', json('x')],
  ])('rejects a payload that is %s', (_what, payload) => {
    expect(protocolError(() => decodeHandshakeRequest(payload)).field).toBe('HandshakeRequest');
  });
});

describe('unknown JSON keys are tolerated', () => {
  it('in an acknowledgement', () => {
    const ack = decodeAcknowledgement(
      json({
        AcknowledgedMessageType: 'output_stream_data',
        AcknowledgedMessageId: 'dd01e56b-ff48-483e-a508-b5f073f31b16',
        AcknowledgedMessageSequenceNumber: 4,
        IsSequentialMessage: true,
        SomethingNew: { nested: [1] },
      }),
    );
    expect(ack).toEqual({
      acknowledgedMessageType: 'output_stream_data',
      acknowledgedMessageId: 'dd01e56b-ff48-483e-a508-b5f073f31b16',
      acknowledgedMessageSequenceNumber: 4,
      isSequentialMessage: true,
    });
  });

  it('in a HandshakeRequest and its actions', () => {
    const request = decodeHandshakeRequest(
      json({
        AgentVersion: '3.3.987.0',
        Extra: 1,
        RequestedClientActions: [{ ActionType: 'SessionType', ActionParameters: { SessionType: 'Port', Properties: {} }, Extra: true }],
      }),
    );
    expect(request.requestedClientActions).toEqual([{ actionType: 'SessionType', actionParameters: { SessionType: 'Port', Properties: {} } }]);
  });

  it('in HandshakeComplete, channel_closed and OpenDataChannel', () => {
    expect(decodeHandshakeComplete(json({ HandshakeTimeToComplete: 5, CustomerMessage: 'hi', X: 1 }))).toEqual({
      handshakeTimeToComplete: 5,
      customerMessage: 'hi',
    });
    expect(decodeChannelClosed(json({ SessionId: 's', Output: 'bye', X: 1 }))).toMatchObject({ sessionId: 's', output: 'bye' });
    expect(
      decodeOpenDataChannel(JSON.stringify({ MessageSchemaVersion: '1.0', RequestId: 'r', TokenValue: 't', X: 1 })),
    ).toEqual({ messageSchemaVersion: '1.0', requestId: 'r', tokenValue: 't', clientId: '', clientVersion: '' });
  });
});

describe('SessionType parameters (docs/forwarding.md §1.1)', () => {
  it('coerces property values to strings and drops nulls', () => {
    expect(
      decodeSessionTypeParameters({ SessionType: 'Port', Properties: { portNumber: 5432, type: 'LocalPortForwarding', host: null } }),
    ).toEqual({ sessionType: 'Port', properties: { portNumber: '5432', type: 'LocalPortForwarding' } });
  });

  it('keeps a property named __proto__ as data', () => {
    const { properties } = decodeSessionTypeParameters({ SessionType: 'Port', Properties: JSON.parse('{"__proto__":"x"}') as Record<string, unknown> });
    expect(Object.keys(properties)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(properties, '__proto__')?.value).toBe('x');
  });
});

describe('HandshakeResponse (docs/protocol.md §8.3)', () => {
  it('writes Errors as null when there are none, and reads null back as []', () => {
    const payload = encodeHandshakeResponse({
      clientVersion: '1.2.677.0',
      processedClientActions: [{ actionType: 'SessionType', actionStatus: ActionStatus.Success, actionResult: null, error: '' }],
      errors: [],
    });
    expect(payload.toString()).toBe(
      '{"ClientVersion":"1.2.677.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}',
    );
    expect(decodeHandshakeResponse(payload).errors).toEqual([]);
  });
});

describe('OpenDataChannel (docs/protocol.md §4.1)', () => {
  it('writes the keys in the reference order', () => {
    expect(
      encodeOpenDataChannel({ messageSchemaVersion: '1.0', requestId: 'r', tokenValue: 't', clientId: 'c', clientVersion: 'v' }),
    ).toBe('{"MessageSchemaVersion":"1.0","RequestId":"r","TokenValue":"t","ClientId":"c","ClientVersion":"v"}');
  });
});
