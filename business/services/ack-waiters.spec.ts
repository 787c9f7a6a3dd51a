import { AckWaiters } from './ack-waiters';
import { AckTimeoutError, NotStoredError } from './errors';

const tick = () => new Promise((r) => setImmediate(r));
async function state(p: Promise<unknown>): Promise<string> {
  let s = 'pending';
  p.then(
    () => (s = 'resolved'),
    () => (s = 'rejected'),
  );
  await tick();
  return s;
}

describe('AckWaiters', () => {
  it('answers the waiters of a flush when it succeeds, not those who came after it took the map', async () => {
    const w = new AckWaiters(1000);
    const early = w.wait();
    const flush = w.take();
    const late = w.wait();
    flush.succeed();
    expect(await state(early)).toBe('resolved');
    expect(await state(late)).toBe('pending');
    w.take().succeed();
    expect(await state(late)).toBe('resolved');
  });

  it('makes the waiters of a failed flush follow the next one', async () => {
    const w = new AckWaiters(1000);
    const ack = w.wait();
    w.putBack(w.take()); // failed
    expect(await state(ack)).toBe('pending');
    w.take().succeed();
    expect(await state(ack)).toBe('resolved');
  });

  it('answers held waiters only with the flush after their hold ended', async () => {
    const w = new AckWaiters(1000);
    const held = w.waitHeld('a.com');
    w.take().succeed(); // a flush during the hold: not theirs
    expect(await state(held)).toBe('pending');
    w.released(['a.com']);
    const next = w.take();
    expect(await state(held)).toBe('pending');
    next.succeed();
    expect(await state(held)).toBe('resolved');
  });

  it('times a waiter out (503), and rejects everyone on failAll', async () => {
    const w = new AckWaiters(20);
    await expect(w.wait()).rejects.toBeInstanceOf(AckTimeoutError);
    const w2 = new AckWaiters(10_000);
    const a = w2.wait();
    const b = w2.waitHeld('b.com');
    w2.failAll(new NotStoredError('down'));
    await expect(a).rejects.toBeInstanceOf(NotStoredError);
    await expect(b).rejects.toBeInstanceOf(NotStoredError);
  });
});
