// Parsing and validation of POST /events bodies, JSON or NDJSON. A batch is
// all or nothing: any invalid item refuses the whole batch with the indexes
// and reasons of the bad items (the first MAX_REPORTED of them).
import { EventType, isEventType, parseDomainName } from '../../business/models';
import { describeValue } from '../../foundation/http/describe-value';

export const MAX_REPORTED = 100;

export interface ItemError {
  index: number;
  reason: string;
}

export type BatchResult =
  | { ok: true; events: Array<{ domain: string; type: EventType }> }
  | { ok: false; message: string; errors?: ItemError[]; invalid?: number; tooMany?: boolean };

/** Validates `{"events":[{domain,type},…]}`. */
export function parseJsonBatch(body: unknown, maxEvents: number): BatchResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, message: 'body must be a JSON object like {"events":[{"domain":"a.com","type":"delivered"}]}' };
  }
  const items = (body as { events?: unknown }).events;
  if (!Array.isArray(items)) return { ok: false, message: 'body.events must be an array of events' };
  if (items.length > maxEvents) {
    return { ok: false, tooMany: true, message: `a batch holds at most ${maxEvents} events, got ${items.length}` };
  }
  return validateItems(items);
}

/**
 * Validates an NDJSON body: one event object a line; blank lines are skipped.
 * Lines in the canonical form `{"domain":"…","type":"…"}` (what JSON.stringify
 * of an event gives) are read in place, without JSON.parse or an object per
 * line; any other line goes through JSON.parse, so both take the same rules.
 */
export function parseNdjsonBatch(body: string, maxEvents: number): BatchResult {
  const items: unknown[] = [];
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf('\n', start);
    if (end === -1) end = body.length;
    const canonical = readCanonicalLine(body, start, end);
    const line = canonical === undefined ? body.slice(start, end).trim() : undefined;
    start = end + 1;
    if (line === '') continue;
    if (items.length >= maxEvents) {
      return { ok: false, tooMany: true, message: `a batch holds at most ${maxEvents} events` };
    }
    if (line === undefined) {
      items.push(canonical);
      continue;
    }
    try {
      items.push(JSON.parse(line));
    } catch {
      items.push(NOT_JSON);
    }
  }
  return validateItems(items);
}

/** Stands in the item list for an NDJSON line that did not parse, so it is reported at its index. */
const NOT_JSON = Symbol('not JSON');

const CANONICAL_HEAD = '{"domain":"';
const CANONICAL_MID = '","type":"';
const DELIVERED_TAIL = 'delivered"}';
const BOUNCED_TAIL = 'bounced"}';

/**
 * The event of a line `{"domain":"<d>","type":"delivered|bounced"}` (spaces,
 * tabs or a CR around it allowed), where <d> holds only printable ASCII
 * without quotes or backslashes, so it reads exactly as JSON.parse would;
 * undefined for any other line.
 */
function readCanonicalLine(body: string, start: number, end: number): { domain: string; type: EventType } | undefined {
  while (start < end && isJsonSpace(body.charCodeAt(start))) start++;
  while (end > start && isJsonSpace(body.charCodeAt(end - 1))) end--;
  if (!body.startsWith(CANONICAL_HEAD, start)) return undefined;
  const domainStart = start + CANONICAL_HEAD.length;
  let i = domainStart;
  for (; i < end; i++) {
    const c = body.charCodeAt(i);
    if (c === 0x22) break; // "
    if (c < 0x20 || c > 0x7e || c === 0x5c) return undefined; // control, non-ASCII, backslash
  }
  if (i >= end || !body.startsWith(CANONICAL_MID, i)) return undefined;
  const typeStart = i + CANONICAL_MID.length;
  let type: EventType;
  if (end - typeStart === DELIVERED_TAIL.length && body.startsWith(DELIVERED_TAIL, typeStart)) type = 'delivered';
  else if (end - typeStart === BOUNCED_TAIL.length && body.startsWith(BOUNCED_TAIL, typeStart)) type = 'bounced';
  else return undefined;
  return { domain: body.slice(domainStart, i), type };
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}

function validateItems(items: unknown[]): BatchResult {
  const events: Array<{ domain: string; type: EventType }> = new Array(items.length);
  const errors: ItemError[] = [];
  let invalid = 0;
  for (let i = 0; i < items.length; i++) {
    const reason = checkItem(items[i], events, i);
    if (reason !== undefined) {
      invalid++;
      if (errors.length < MAX_REPORTED) errors.push({ index: i, reason });
    }
  }
  if (invalid > 0) return { ok: false, message: invalidMessage(invalid, items.length), errors, invalid };
  return { ok: true, events };
}

function checkItem(item: unknown, out: Array<{ domain: string; type: EventType }>, i: number): string | undefined {
  if (item === NOT_JSON) return 'line is not valid JSON';
  if (typeof item !== 'object' || item === null) return 'event must be an object with "domain" and "type"';
  const { domain, type } = item as { domain?: unknown; type?: unknown };
  if (!isEventType(type)) return `invalid event type ${describeValue(type)}: expected "delivered" or "bounced"`;
  const parsed = parseDomainName(domain);
  if (!parsed.ok) return `invalid domain ${describeValue(domain)}: ${parsed.reason}`;
  out[i] = { domain: parsed.value, type };
  return undefined;
}

function invalidMessage(invalid: number, total: number): string {
  return `${invalid} of ${total} events are invalid; nothing was counted`;
}
