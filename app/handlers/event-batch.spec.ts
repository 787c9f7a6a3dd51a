import { parseJsonBatch, parseNdjsonBatch } from './event-batch';

describe('parseJsonBatch', () => {
  it('normalises valid events', () => {
    expect(parseJsonBatch({ events: [{ domain: 'A.com.', type: 'delivered' }] }, 10)).toEqual({
      ok: true,
      events: [{ domain: 'a.com', type: 'delivered' }],
    });
  });

  it('refuses the whole batch listing each bad item', () => {
    const result = parseJsonBatch(
      { events: [{ domain: 'a.com', type: 'delivered' }, { domain: 'x', type: 'delivered' }, { domain: 'b.com', type: 'opened' }, 7] },
      10,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.invalid).toBe(3);
    expect(result.errors!.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(result.errors![1].reason).toMatch(/event type "opened"/);
  });

  it('caps the number of events in one batch', () => {
    const result = parseJsonBatch({ events: new Array(11).fill({ domain: 'a.com', type: 'bounced' }) }, 10);
    expect(result).toMatchObject({ ok: false, tooMany: true });
  });

  it.each([[null], [[]], ['str'], [{}], [{ events: 'x' }]])('refuses a body of the wrong shape: %j', (body) => {
    expect(parseJsonBatch(body, 10).ok).toBe(false);
  });
});

describe('parseNdjsonBatch', () => {
  it('reads one event a line, skipping blank lines and CRLF', () => {
    const body = '{"domain":"a.com","type":"delivered"}\r\n\n{"domain":"b.com","type":"bounced"}\n';
    expect(parseNdjsonBatch(body, 10)).toEqual({
      ok: true,
      events: [
        { domain: 'a.com', type: 'delivered' },
        { domain: 'b.com', type: 'bounced' },
      ],
    });
  });

  it('reports lines that are not JSON together with invalid events, by index', () => {
    const body = '{"domain":"a.com","type":"delivered"}\nnot json\n{"domain":"-x.com","type":"delivered"}\n';
    const result = parseNdjsonBatch(body, 10);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      { index: 1, reason: 'line is not valid JSON' },
      { index: 2, reason: expect.stringMatching(/invalid domain/) },
    ]);
    expect(result.invalid).toBe(2);
  });

  it('caps the number of events', () => {
    const body = '{"domain":"a.com","type":"delivered"}\n'.repeat(3);
    expect(parseNdjsonBatch(body, 2)).toMatchObject({ ok: false, tooMany: true });
  });
});
