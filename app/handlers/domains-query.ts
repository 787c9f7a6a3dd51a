// GET /domains and GET /domains/export query parameters: status, page size and
// an opaque cursor (base64url of "n:" and the last name of the page before).
// Pure functions, so bad input is refused with a clear message before the store
// is asked anything. Unknown parameters are refused too: a misspelt `status`
// would otherwise list every domain.
import { DomainStatus, parseDomainName } from '../../business/models';

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
export const LIST_STATUSES: readonly DomainStatus[] = ['catch-all', 'not catch-all', 'unknown'];
const CURSOR_PREFIX = 'n:';
/** "n:" and a name of at most 253 characters, base64url: 340 characters. */
const MAX_CURSOR_LENGTH = 344;

export interface ListingQuery {
  /** Absent: every status. */
  status?: DomainStatus;
  limit: number;
  /** The name to start after (from the cursor). */
  after?: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export function encodeListCursor(name: string): string {
  return Buffer.from(CURSOR_PREFIX + name).toString('base64url');
}

/** The name in a cursor, or undefined when it is not one this service made. */
export function decodeListCursor(cursor: string): string | undefined {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('latin1');
  if (!text.startsWith(CURSOR_PREFIX)) return undefined;
  const name = text.slice(CURSOR_PREFIX.length);
  // Only the one spelling this service makes (no padding, no other bytes).
  if (encodeListCursor(name) !== cursor) return undefined;
  const parsed = parseDomainName(name);
  return parsed.ok && parsed.value === name ? name : undefined;
}

export function parseListingQuery(query: Record<string, unknown>): Parsed<ListingQuery> {
  const unknown = Object.keys(query).filter((k) => k !== 'status' && k !== 'limit' && k !== 'cursor');
  if (unknown.length > 0) return { ok: false, reason: `unknown query parameter ${JSON.stringify(unknown[0])}: expected status, limit or cursor` };
  const status = parseStatus(query.status);
  if (!status.ok) return status;
  const limit = parseLimit(query.limit);
  if (limit === undefined) return { ok: false, reason: `limit must be an integer from 1 to ${MAX_LIST_LIMIT}` };
  let after: string | undefined;
  if (query.cursor !== undefined) {
    after = typeof query.cursor === 'string' ? decodeListCursor(query.cursor) : undefined;
    if (after === undefined) return { ok: false, reason: 'cursor must be the "next" of a GET /domains answer' };
  }
  return { ok: true, value: { status: status.value, limit, after } };
}

export function parseExportQuery(query: Record<string, unknown>): Parsed<DomainStatus | undefined> {
  const unknown = Object.keys(query).filter((k) => k !== 'status');
  if (unknown.length > 0) return { ok: false, reason: `unknown query parameter ${JSON.stringify(unknown[0])}: expected status` };
  return parseStatus(query.status);
}

function parseStatus(raw: unknown): Parsed<DomainStatus | undefined> {
  if (raw === undefined) return { ok: true, value: undefined };
  if (typeof raw === 'string' && (LIST_STATUSES as readonly string[]).includes(raw)) return { ok: true, value: raw as DomainStatus };
  return { ok: false, reason: `status must be one of ${LIST_STATUSES.map((s) => JSON.stringify(s)).join(', ')} (or absent for all)` };
}

function parseLimit(raw: unknown): number | undefined {
  if (raw === undefined) return DEFAULT_LIST_LIMIT;
  if (typeof raw !== 'string' || !/^[0-9]{1,7}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= 1 && n <= MAX_LIST_LIMIT ? n : undefined;
}
