import { decodeListCursor, encodeListCursor, parseExportQuery, parseListingQuery } from './domains-query';

describe('listing cursors', () => {
  it('round-trips a name', () => {
    for (const name of ['a.com', '0000-c.example', 'xn--bcher-kva.de', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`]) {
      expect(decodeListCursor(encodeListCursor(name))).toBe(name);
    }
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['another prefix', Buffer.from('x:a.com').toString('base64url')],
    ['not a normalised name', Buffer.from('n:A.com').toString('base64url')],
    ['not a name', Buffer.from('n:not_valid').toString('base64url')],
    ['padded', `${encodeListCursor('a.com')}=`],
    ['too long', 'A'.repeat(400)],
  ])('refuses %s', (_what, cursor) => {
    expect(decodeListCursor(cursor)).toBeUndefined();
  });
});

describe('parseListingQuery', () => {
  it('has defaults: every status, 100 a page, from the first', () => {
    expect(parseListingQuery({})).toEqual({ ok: true, value: { status: undefined, limit: 100, after: undefined } });
  });

  it('reads status, limit and cursor', () => {
    expect(parseListingQuery({ status: 'not catch-all', limit: '1000', cursor: encodeListCursor('b.org') })).toEqual({
      ok: true,
      value: { status: 'not catch-all', limit: 1000, after: 'b.org' },
    });
  });

  it.each([{ status: 'catchall' }, { status: ['unknown', 'unknown'] }, { limit: '0' }, { limit: '1001' }, { limit: '1.5' }, { cursor: 'zz' }, { page: '2' }])(
    'refuses %j',
    (query) => {
      expect(parseListingQuery(query).ok).toBe(false);
    },
  );

  it('takes only status for an export', () => {
    expect(parseExportQuery({ status: 'unknown' })).toEqual({ ok: true, value: 'unknown' });
    expect(parseExportQuery({})).toEqual({ ok: true, value: undefined });
    expect(parseExportQuery({ cursor: 'x' }).ok).toBe(false);
  });
});
