import { orderForFeed } from './change-sequencer';

const row = (domain: string, delivered: number, bounced: number, ms: number) => ({
  domain,
  delivered: String(delivered),
  bounced: String(bounced),
  at: new Date(Date.UTC(2026, 11, 1, 18, 0, 0, ms)),
});

describe('orderForFeed', () => {
  it('orders a batch by the time each transition was taken', () => {
    const rows = [row('b.com', 0, 1, 30), row('a.com', 1001, 0, 10), row('c.com', 0, 1, 20)];
    expect(orderForFeed(rows).map((r) => r.domain)).toEqual(['a.com', 'c.com', 'b.com']);
  });

  it("keeps a domain's own transitions in the order of its totals when their times are equal", () => {
    const later = row('a.com', 1001, 1, 10);
    const earlier = row('a.com', 1001, 0, 10);
    expect(orderForFeed([later, earlier])).toEqual([earlier, later]);
  });

  it('breaks other ties by domain, and leaves its input as it was', () => {
    const rows = [row('b.com', 0, 1, 10), row('a.com', 0, 1, 10)];
    expect(orderForFeed(rows).map((r) => r.domain)).toEqual(['a.com', 'b.com']);
    expect(rows.map((r) => r.domain)).toEqual(['b.com', 'a.com']);
  });
});
