/*
 * Data-channel frames as either end writes them, built with the codecs alone (never with our own
 * client), for the wire client and the hostile agent: a fresh message id and the current time in
 * each, schema version 1.
 */
import { randomUUID } from 'node:crypto';
import {
  encodeAcknowledgement,
  encodeClientMessage,
  MessageFlags,
  MessageType,
  PayloadType,
  type ClientMessage,
  type DecodedClientMessage,
} from '../../src/protocol/index.js';

export function messageFrame(fields: Pick<ClientMessage, 'messageType' | 'sequenceNumber' | 'flags' | 'payloadType' | 'payload'>): Buffer {
  return encodeClientMessage({ ...fields, schemaVersion: 1, createdDate: Date.now(), messageId: randomUUID() });
}

/** The acknowledge message for a received stream message. */
export function acknowledgementFrame(message: DecodedClientMessage): Buffer {
  return messageFrame({
    messageType: MessageType.Acknowledge,
    sequenceNumber: 0,
    flags: MessageFlags.Ack,
    payloadType: PayloadType.Undefined,
    payload: encodeAcknowledgement({
      acknowledgedMessageType: message.messageType,
      acknowledgedMessageId: message.messageId,
      acknowledgedMessageSequenceNumber: message.sequenceNumber,
      isSequentialMessage: true,
    }),
  });
}
