// Read coalescing, the read-side twin of group commit: lookups that arrive in
// the same turn of the event loop share one store.read() of the union of their
// names, so a burst of GETs costs one round trip to the store, not one each.
import { Counts } from '../models';
import { CounterStore } from '../ports';

interface Batch {
  names: Set<string>;
  promise: Promise<Map<string, Counts>>;
  resolve(rows: Map<string, Counts>): void;
  reject(err: unknown): void;
}

export class ReadBatcher {
  private current: Batch | undefined;

  constructor(
    private readonly store: CounterStore,
    /** Largest union read in one call; a batch that reaches it is sent at once. */
    private readonly maxNames = 2000,
  ) {}

  read(names: readonly string[]): Promise<Map<string, Counts>> {
    // Nothing to read: answer now rather than open a batch that may hold no name.
    if (names.length === 0) return Promise.resolve(new Map());
    if (names.length >= this.maxNames) return this.store.read(names);
    let batch = this.current;
    if (batch && batch.names.size + names.length > this.maxNames) {
      this.send(batch);
      batch = undefined;
    }
    if (!batch) batch = this.open();
    for (const name of names) batch.names.add(name);
    return batch.promise;
  }

  private open(): Batch {
    let resolve!: (rows: Map<string, Counts>) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<Map<string, Counts>>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const batch: Batch = { names: new Set(), promise, resolve, reject };
    this.current = batch;
    setImmediate(() => this.send(batch));
    return batch;
  }

  private send(batch: Batch): void {
    if (this.current === batch) this.current = undefined;
    // Every batch settles, even one that (somehow) holds no name: a waiter must never hang.
    if (batch.names.size === 0) {
      batch.resolve(new Map());
      return;
    }
    const names = [...batch.names];
    batch.names.clear();
    this.store.read(names).then(batch.resolve, batch.reject);
  }
}
