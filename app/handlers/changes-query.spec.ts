import { decodeCursor, encodeCursor, parseChangesQuery } from './changes-query';

describe('change cursors', () => {
  it('round-trips ids and refuses anything else', () => {
    for (const id of [0, 1, 42, 9_007_199_254_740_991]) expect(decodeCursor(encodeCursor(id))).toBe(id);
    for (const bad of ['', 'x', '!!', 'MDE', encodeCursor(1) + '=', Buffer.from('-1').toString('base64url'), 'a'.repeat(100)]) {
      expect(decodeCursor(bad)).toBeUndefined();
    }
  });
});

describe('parseChangesQuery', () => {
  it('defaults: from the beginning, 100, no wait', () => {
    expect(parseChangesQuery({})).toEqual({ ok: true, value: { after: 0, limit: 100, waitS: 0 } });
  });

  it('reads a cursor, a limit and a wait', () => {
    expect(parseChangesQuery({ after: encodeCursor(7), limit: '1000', wait: '60' })).toEqual({
      ok: true,
      value: { after: 7, limit: 1000, waitS: 60 },
    });
  });

  it.each([
    [{ after: 'nope' }, /after must be a cursor/],
    [{ after: ['a', 'b'] }, /after must be a cursor/],
    [{ limit: '0' }, /limit must be/],
    [{ limit: '1001' }, /limit must be/],
    [{ limit: '1.5' }, /limit must be/],
    [{ limit: '' }, /limit must be/],
    [{ wait: '61' }, /wait must be/],
    [{ wait: '-1' }, /wait must be/],
    [{ wait: 'soon' }, /wait must be/],
  ])('refuses %j', (query, reason) => {
    const parsed = parseChangesQuery(query);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});
