import { MemoryChangeFeed } from '../business/adapters/memory/memory-change-feed.adapter';
import { AppConfig } from './config';
import { ChangesPruner } from './changes-pruner';

describe('ChangesPruner', () => {
  it('deletes changes older than CHANGES_RETENTION_DAYS, in batches, and keeps the newer ones', async () => {
    const feed = new MemoryChangeFeed(10_000);
    const old = new Date(Date.now() - 31 * 24 * 3600_000);
    const t = (domain: string) => ({ domain, from: 'unknown' as const, to: 'not catch-all' as const, delivered: 0, bounced: 1 });
    feed.append(Array.from({ length: 2500 }, (_, i) => t(`old${i}.com`)), old);
    feed.append([t('new.com')]);
    const pruner = new ChangesPruner(feed, { CHANGES_RETENTION_DAYS: 30 } as AppConfig);
    expect(await pruner.pruneOnce()).toBe(2500);
    expect((await feed.read(0, 10)).map((c) => c.domain)).toEqual(['new.com']);
  });
});
