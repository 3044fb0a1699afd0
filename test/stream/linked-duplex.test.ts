import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { LinkedDuplex } from '../../src/stream/linked-duplex.js';

function pair(): [LinkedDuplex, LinkedDuplex] {
  const a = new LinkedDuplex();
  const b = new LinkedDuplex();
  LinkedDuplex.link(a, b);
  return [a, b];
}

describe('LinkedDuplex', () => {
  it('delivers what one end writes to the other, in order, both ways', async () => {
    const [a, b] = pair();
    a.write('one ');
    a.write('two');
    b.write('back');
    expect(String(b.read())).toBe('one two');
    expect(String(a.read())).toBe('back');
    a.destroy();
    b.destroy();
    await Promise.all([once(a, 'close'), once(b, 'close')]);
  });

  it('holds a writer back until the other end reads, then drains', async () => {
    const [a, b] = pair();
    const chunk = Buffer.alloc(64 * 1024, 7);
    let accepted = 0;
    while (a.write(chunk)) accepted += 1;
    expect(accepted).toBeLessThan(4);
    const drained = once(a, 'drain');
    let read = 0;
    b.on('data', (data: Buffer) => (read += data.length));
    await drained;
    expect(read).toBeGreaterThanOrEqual((accepted + 1) * chunk.length);
    a.destroy();
    b.destroy();
  });

  it("ends the other end's readable side after the data when one end finishes writing", async () => {
    const [a, b] = pair();
    a.end('last words');
    const chunks: Buffer[] = [];
    b.on('data', (data: Buffer) => chunks.push(data));
    await once(b, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('last words');
    expect(a.writableFinished).toBe(true);
    b.destroy();
    a.destroy();
  });

  it('releases a blocked writer when the other end is destroyed, and drops what it writes next', async () => {
    const [a, b] = pair();
    const chunk = Buffer.alloc(64 * 1024);
    while (a.write(chunk));
    const drained = once(a, 'drain');
    b.destroy();
    await drained;
    expect(a.write('into the void')).toBe(true);
    expect(a.destroyed).toBe(false);
    a.destroy();
  });
});
