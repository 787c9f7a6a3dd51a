// Properties of the POST /events body parsers (fast-check): they never throw,
// a batch with any invalid item is refused whole with the indexes of the bad
// items, a valid batch comes back whole and in order, and the NDJSON form of a
// batch reads exactly as its JSON form.
import fc from 'fast-check';
import { parseDomainName } from '../../business/models';
import { MAX_REPORTED, parseJsonBatch, parseNdjsonBatch } from './event-batch';

const RUNS = { numRuns: 1000 };
const MAX = 10_000;

const domain = fc.oneof(
  fc.constantFrom('a.com', 'B.org.', 'bücher.de', 'xn--a.com', '127.1', 'bad_name.com', '', '-x.io', 'ok.example'),
  fc.string({ maxLength: 20 }),
);
const type = fc.oneof(fc.constantFrom('delivered', 'bounced', 'opened', 'Delivered'), fc.string({ maxLength: 10 }));
const item = fc.oneof(
  { weight: 6, arbitrary: fc.record({ domain, type }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
);
const validEvent = fc.record({
  domain: fc.constantFrom('a.com', 'B.org.', 'bücher.de', 'xn--bcher-kva.de', 'mail.example.co.uk'),
  type: fc.constantFrom('delivered' as const, 'bounced' as const),
});

function isValid(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return false;
  const { domain: d, type: t } = x as { domain?: unknown; type?: unknown };
  return (t === 'delivered' || t === 'bounced') && parseDomainName(d).ok;
}

describe('parseJsonBatch (properties)', () => {
  it('never throws on any body', () => {
    fc.assert(
      fc.property(fc.anything(), (body) => {
        const result = parseJsonBatch(body, MAX);
        expect(typeof result.ok).toBe('boolean');
      }),
      RUNS,
    );
  });

  it('refuses a batch with any invalid item whole, listing exactly the bad indexes', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), (items) => {
        const bad = items.flatMap((x, i) => (isValid(x) ? [] : [i]));
        const result = parseJsonBatch({ events: items }, MAX);
        if (bad.length === 0) {
          expect(result.ok).toBe(true);
          return;
        }
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.invalid).toBe(bad.length);
        expect(result.errors!.map((e) => e.index)).toEqual(bad.slice(0, MAX_REPORTED));
        for (const e of result.errors!) expect(e.reason.length).toBeLessThan(400);
      }),
      RUNS,
    );
  });

  it('keeps a valid batch whole and in order, with canonical names', () => {
    fc.assert(
      fc.property(fc.array(validEvent, { maxLength: 50 }), (events) => {
        const result = parseJsonBatch({ events }, MAX);
        expect(result).toEqual({
          ok: true,
          events: events.map((e) => ({ domain: (parseDomainName(e.domain) as { value: string }).value, type: e.type })),
        });
      }),
      RUNS,
    );
  });
});

describe('parseNdjsonBatch (properties)', () => {
  it('never throws on any text', () => {
    const line = fc.oneof(fc.string({ maxLength: 60 }), fc.json({ maxDepth: 3 }), item.map((x) => JSON.stringify(x) ?? ''));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
        expect(typeof parseNdjsonBatch(lines.join(eol), MAX).ok).toBe('boolean');
      }),
      RUNS,
    );
  });

  it('reads the NDJSON form of a batch exactly as its JSON form', () => {
    const jsonItem = fc.oneof(fc.record({ domain, type }), fc.record({ domain, type, extra: fc.integer() }), fc.jsonValue({ maxDepth: 2 }));
    fc.assert(
      fc.property(fc.array(jsonItem, { maxLength: 30 }), (items) => {
        // JSON.stringify escapes nothing that would split a line; a blank line is skipped, so no item may be empty.
        const body = items.map((x) => JSON.stringify(x)).join('\n');
        expect(parseNdjsonBatch(body, MAX)).toEqual(parseJsonBatch({ events: items }, MAX));
      }),
      RUNS,
    );
  });
});

describe('deeply nested values', () => {
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

  it('refuses a deeply nested JSON item with a bounded message', () => {
    const events = [JSON.parse(deep(100_000)), { domain: JSON.parse(deep(100_000)), type: 'delivered' }];
    const result = parseJsonBatch({ events }, MAX);
    expect(result).toMatchObject({ ok: false, invalid: 2 });
    if (result.ok) return;
    expect(result.errors![1].reason).toBe('invalid domain an array of 1 item: domain must be a string');
  });

  it('refuses a deeply nested NDJSON line with a bounded message', () => {
    const body = `{"domain":"a.com","type":"delivered"}\n{"domain":${deep(100_000)},"type":"bounced"}\n`;
    const result = parseNdjsonBatch(body, MAX);
    expect(result).toMatchObject({ ok: false, invalid: 1, errors: [{ index: 1, reason: expect.stringMatching(/an array of 1 item/) }] });
  });
});
