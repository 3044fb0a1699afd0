import { describe, expect, it } from 'vitest';
import { fuzzClientChannel, fuzzDecoder, fuzzSmuxSession } from '../helpers/faults/fuzz.js';

describe('malformed frames from the server, fuzzed', () => {
  it('the decoder returns a message or a ProtocolError for random and mutated frames', () => {
    const figures = fuzzDecoder(2000, 1);
    expect(figures.failure).toBeUndefined();
    expect(figures.rejected).toBeGreaterThan(0);
    expect(figures.rejected).toBeLessThan(figures.frames);
  });

  it('the reliable channel with the mux forwarder never throws and keeps its reorder buffer under the cap', () => {
    const figures = fuzzClientChannel(60, 2);
    expect(figures.failure).toBeUndefined();
    expect(figures.peakHeld).toBeLessThanOrEqual(figures.cap);
    expect(figures.peakHeld).toBeGreaterThan(0);
  });

  it('the smux session never throws and buffers no more than its cap plus one frame', () => {
    const figures = fuzzSmuxSession(60, 3);
    expect(figures.failure).toBeUndefined();
    expect(figures.peakHeld).toBeLessThanOrEqual(figures.cap);
    expect(figures.peakHeld).toBeGreaterThan(figures.cap / 4);
  });
});
