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

  it.each([
    '{"domain":"a.com","type":"delivered"}',
    ' \t{"domain":"A.Com.","type":"bounced"}\r',
    '{"domain":"\\u0061.com","type":"delivered"}',
    '{"domain":"bücher.de","type":"delivered"}',
    '{"domain":"a\tb.com","type":"delivered"}',
    '{"domain":"a.com","type":"delivered","extra":1}',
    '{"domain":"a.com","type":"delivered"}x',
    '{"domain":"a.com","type":"opened"}',
    '{"domain":"a.com","type":"deliveredx"}',
    '{"domain":"a.com","type":"bounced"',
    '{"domain":"a.com"}',
    '{"type":"delivered","domain":"a.com"}',
    '{"domain":"-a.com","type":"delivered"}',
    '{"domain":"","type":"delivered"}',
    '\u00a0{"domain":"a.com","type":"delivered"}',
  ])('reads %j exactly as JSON.parse would', (line) => {
    let viaJson: unknown;
    try {
      viaJson = parseJsonBatch({ events: [JSON.parse(line.trim())] }, 10);
    } catch {
      viaJson = { ok: false, message: '1 of 1 events are invalid; nothing was counted', errors: [{ index: 0, reason: 'line is not valid JSON' }], invalid: 1 };
    }
    expect(parseNdjsonBatch(line, 10)).toEqual(viaJson);
  });

  it('caps the number of events', () => {
    const body = '{"domain":"a.com","type":"delivered"}\n'.repeat(3);
    expect(parseNdjsonBatch(body, 2)).toMatchObject({ ok: false, tooMany: true });
  });
});
