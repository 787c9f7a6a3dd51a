import { MonotoneSignal } from './monotone-signal';

describe('MonotoneSignal', () => {
  it('answers at once when the value is already past the mark', async () => {
    const s = new MonotoneSignal(5);
    await expect(s.wait(4, Date.now() + 10_000)).resolves.toBe(true);
    expect(s.waiting).toBe(0);
  });

  it('wakes a waiter when the value passes its mark, not before', async () => {
    const s = new MonotoneSignal(0);
    let done: boolean | undefined;
    const p = s.wait(2, Date.now() + 10_000).then((v) => (done = v));
    s.advance(2);
    await Promise.resolve();
    expect(done).toBeUndefined();
    s.advance(1); // lower: ignored
    expect(s.value).toBe(2);
    s.advance(3);
    await p;
    expect(done).toBe(true);
    expect(s.waiting).toBe(0);
  });

  it('answers false at the deadline and forgets the waiter', async () => {
    const s = new MonotoneSignal(0);
    await expect(s.wait(0, Date.now() + 20)).resolves.toBe(false);
    expect(s.waiting).toBe(0);
  });

  it('answers false when the caller aborts, and forgets the waiter', async () => {
    const s = new MonotoneSignal(0);
    const ac = new AbortController();
    const p = s.wait(0, Date.now() + 60_000, ac.signal);
    expect(s.waiting).toBe(1);
    ac.abort();
    await expect(p).resolves.toBe(false);
    expect(s.waiting).toBe(0);
  });

  it('releases every waiter on releaseAll', async () => {
    const s = new MonotoneSignal(0);
    const ps = [s.wait(0, Date.now() + 60_000), s.wait(5, Date.now() + 60_000)];
    s.releaseAll();
    await expect(Promise.all(ps)).resolves.toEqual([false, false]);
  });
});
