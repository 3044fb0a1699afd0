/*
 * What an incremental handshake parser says about the bytes received so far: not enough yet, a
 * complete message (and how many bytes it took), or bytes no valid message starts with.
 */

export type ParseResult<T, Rejection> =
  | { kind: 'incomplete' }
  | { kind: 'complete'; value: T; consumed: number }
  | ({ kind: 'invalid'; reason: string } & Rejection);

export const INCOMPLETE = { kind: 'incomplete' } as const;
