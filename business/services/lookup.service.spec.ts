import { DomainName } from '../models';
import { MemoryCounterStore } from '../adapters/memory/memory-counter-store.adapter';
import { IngestService } from './ingest.service';
import { StoreUnavailableError } from './errors';
import { LocalDeltas, LookupService } from './lookup.service';

const d = (s: string) => s as DomainName;
const nothingLocal: LocalDeltas = {
  readWithLocal: async (_names, read) => ({ stored: await read(), local: new Map() }),
};

describe('LookupService', () => {
  it('adds this node\'s unflushed deltas to the stored counts', async () => {
    const store = new MemoryCounterStore();
    await store.apply(new Map([['a.com', { delivered: 1000, bounced: 0 }]]));
    const ingest = new IngestService(store, { ackMode: 'buffered', flushIntervalMs: 60_000 });
    const lookups = new LookupService(store, ingest, 1000);
    expect(await lookups.lookup(d('a.com'))).toEqual({ domain: 'a.com', status: 'unknown', delivered: 1000, bounced: 0 });
    void ingest.record('a.com', 'delivered');
    expect(await lookups.lookup(d('a.com'))).toEqual({ domain: 'a.com', status: 'catch-all', delivered: 1001, bounced: 0 });
    await ingest.idle();
    expect(await lookups.lookup(d('a.com'))).toEqual({ domain: 'a.com', status: 'catch-all', delivered: 1001, bounced: 0 });
    await ingest.close();
  });

  it('answers never-seen domains as unknown with zero counts, in the order asked, duplicates included', async () => {
    const store = new MemoryCounterStore();
    await store.apply(new Map([['b.com', { delivered: 0, bounced: 2 }]]));
    const lookups = new LookupService(store, nothingLocal, 1000);
    const results = await lookups.lookupMany([d('x.org'), d('b.com'), d('x.org')]);
    expect(results).toEqual([
      { domain: 'x.org', status: 'unknown', delivered: 0, bounced: 0 },
      { domain: 'b.com', status: 'not catch-all', delivered: 0, bounced: 2 },
      { domain: 'x.org', status: 'unknown', delivered: 0, bounced: 0 },
    ]);
  });

  it('uses the configured threshold', async () => {
    const store = new MemoryCounterStore();
    await store.apply(new Map([['c.com', { delivered: 6, bounced: 0 }]]));
    const lookups = new LookupService(store, nothingLocal, 5);
    expect((await lookups.lookup(d('c.com'))).status).toBe('catch-all');
  });

  it('turns a store failure into StoreUnavailableError (answered 503)', async () => {
    const store = new MemoryCounterStore();
    store.read = async () => {
      throw new Error('connection refused');
    };
    const lookups = new LookupService(store, nothingLocal, 1000);
    await expect(lookups.lookup(d('a.com'))).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
