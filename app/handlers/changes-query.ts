// GET /changes query parameters: an opaque cursor (base64url of the last id
// seen), a page size and a long-poll wait. Pure functions, so bad input is
// refused with a clear message before anything is read.
const DEFAULT_CHANGES_LIMIT = 100;
const MAX_CHANGES_LIMIT = 1000;
const MAX_CHANGES_WAIT_S = 60;

interface ChangesQuery {
  /** Id of the last change the client has seen (0: from the beginning). */
  after: number;
  limit: number;
  /** Seconds to long-poll when nothing is there yet (0: answer at once). */
  waitS: number;
}

export type ParsedQuery = { ok: true; value: ChangesQuery } | { ok: false; reason: string };

export function encodeCursor(id: number): string {
  return Buffer.from(String(id)).toString('base64url');
}

/** The id in a cursor, or undefined when it is not one this service made. */
export function decodeCursor(cursor: string): number | undefined {
  if (cursor.length === 0 || cursor.length > 24 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('latin1');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text) || encodeCursor(Number(text)) !== cursor) return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : undefined;
}

export function parseChangesQuery(query: Record<string, unknown>): ParsedQuery {
  const { after, limit, wait } = query;
  let id = 0;
  if (after !== undefined) {
    const decoded = typeof after === 'string' ? decodeCursor(after) : undefined;
    if (decoded === undefined) return { ok: false, reason: 'after must be a cursor returned by GET /changes (its "next" or a change\'s "cursor")' };
    id = decoded;
  }
  const n = integer(limit, 1, MAX_CHANGES_LIMIT, DEFAULT_CHANGES_LIMIT);
  if (n === undefined) return { ok: false, reason: `limit must be an integer from 1 to ${MAX_CHANGES_LIMIT}` };
  const w = integer(wait, 0, MAX_CHANGES_WAIT_S, 0);
  if (w === undefined) return { ok: false, reason: `wait must be a whole number of seconds from 0 to ${MAX_CHANGES_WAIT_S}` };
  return { ok: true, value: { after: id, limit: n, waitS: w } };
}

function integer(raw: unknown, min: number, max: number, fallback: number): number | undefined {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^[0-9]{1,7}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
}
