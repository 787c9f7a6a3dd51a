import { Counts } from '../models';
import { MemoryCounterStore } from '../adapters/memory/memory-counter-store.adapter';
import { ReadBatcher } from './read-batcher';

class CountingStore extends MemoryCounterStore {
  readonly reads: string[][] = [];
  override async read(names: readonly string[]): Promise<Map<string, Counts>> {
    this.reads.push([...names]);
    return super.read(names);
  }
}

describe('ReadBatcher', () => {
  it('answers lookups of one turn with one store read of the union', async () => {
    const store = new CountingStore();
    await store.apply(new Map([['a.com', { delivered: 1, bounced: 0 }], ['b.com', { delivered: 0, bounced: 2 }]]));
    const batcher = new ReadBatcher(store);
    const [a, b, ab] = await Promise.all([batcher.read(['a.com']), batcher.read(['b.com']), batcher.read(['a.com', 'c.com'])]);
    expect(store.reads).toEqual([['a.com', 'b.com', 'c.com']]);
    expect(a.get('a.com')).toEqual({ delivered: 1, bounced: 0 });
    expect(b.get('b.com')).toEqual({ delivered: 0, bounced: 2 });
    expect(ab.has('c.com')).toBe(false);
  });

  it('sends a batch early when it would exceed the size bound', async () => {
    const store = new CountingStore();
    const batcher = new ReadBatcher(store, 3);
    await Promise.all([batcher.read(['a.com', 'b.com']), batcher.read(['c.com', 'd.com']), batcher.read(['e.com', 'f.com', 'g.com'])]);
    expect(store.reads).toEqual([['a.com', 'b.com'], ['e.com', 'f.com', 'g.com'], ['c.com', 'd.com']]);
  });

  it('passes a store failure to every waiter of the batch', async () => {
    const store = new CountingStore();
    store.read = async () => {
      throw new Error('down');
    };
    const batcher = new ReadBatcher(store);
    const results = await Promise.allSettled([batcher.read(['a.com']), batcher.read(['b.com'])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('starts a new batch after one was sent', async () => {
    const store = new CountingStore();
    const batcher = new ReadBatcher(store);
    await batcher.read(['a.com']);
    await batcher.read(['b.com']);
    expect(store.reads).toEqual([['a.com'], ['b.com']]);
  });

  it('answers an empty read at once, without a store call, and still batches what follows', async () => {
    const store = new CountingStore();
    const batcher = new ReadBatcher(store);
    expect(await batcher.read([])).toEqual(new Map());
    const [empty, a] = await Promise.all([batcher.read([]), batcher.read(['a.com'])]);
    expect(empty.size).toBe(0);
    expect(a.size).toBe(0);
    expect(store.reads).toEqual([['a.com']]);
  });
});
