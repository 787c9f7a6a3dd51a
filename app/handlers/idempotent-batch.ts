// POST /events with an Idempotency-Key header (IETF httpapi idempotency-key
// draft): the key's syntax, the request's fingerprint, and the answer (the
// first one, replayed with Idempotent-Replayed: true). The business rules are
// in business/services/idempotent-batch.service.ts.
import { createHash } from 'node:crypto';
import { BadRequestException, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { EventType } from '../../business/models';
import { IdempotentBatchService } from '../../business/services';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
const MAX_KEY_LENGTH = 255;

/**
 * The key of an Idempotency-Key header, or undefined without one. The draft
 * sends it as a Structured Field string ("…", with \" and \\ escapes); a bare
 * token is taken as it is. Either way it must be 1–255 printable ASCII
 * characters, else 400.
 */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw badKey('send one Idempotency-Key header');
  const value = header.trim();
  const key = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? unquote(value) : value;
  if (key === undefined) throw badKey('a quoted key may escape only " and \\');
  if (key.length < 1 || key.length > MAX_KEY_LENGTH) throw badKey(`a key holds 1 to ${MAX_KEY_LENGTH} characters`);
  if (!/^[\x20-\x7e]+$/.test(key)) throw badKey('a key holds printable ASCII characters only');
  return key;
}

/**
 * SHA-256 (hex) of what the request means: method, path, media type, and the
 * validated events in order with normalised names. So a body re-sent with
 * other whitespace, member order or name case is the same request, and any
 * change to the events (or JSON turned into NDJSON) is another one (422).
 * Hashing the parsed events rather than the raw bytes also keeps the hash
 * off any member the service ignores (which could be arbitrarily deep).
 */
function fingerprintOf(mediaType: string, events: ReadonlyArray<{ domain: string; type: EventType }>): string {
  const hash = createHash('sha256').update(`POST /events\n${mediaType}\n`);
  let chunk = '';
  for (const e of events) {
    chunk += `${e.domain} ${e.type}\n`;
    if (chunk.length > 64 * 1024) {
      hash.update(chunk);
      chunk = '';
    }
  }
  return hash.update(chunk).digest('hex');
}

@Injectable()
export class KeyedBatchHandler {
  constructor(private readonly batches: IdempotentBatchService) {}

  /** Applies the batch once for its key and answers as the first request was answered. */
  async answer(
    key: string,
    mediaType: string,
    events: ReadonlyArray<{ domain: string; type: EventType }>,
    reply: FastifyReply,
  ): Promise<unknown> {
    const answer = await this.batches.submit(key, fingerprintOf(mediaType, events), events);
    void reply.status(answer.status);
    if (answer.replayed) void reply.header('idempotent-replayed', 'true');
    return JSON.parse(answer.body) as unknown;
  }
}

/** An sf-string's content, or undefined when it holds an escape other than \" and \\ (RFC 8941 §4.2.5). */
function unquote(value: string): string | undefined {
  let out = '';
  for (let i = 1; i < value.length - 1; i++) {
    const c = value[i];
    if (c === '"') return undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = value[++i];
    if (next !== '"' && next !== '\\') return undefined;
    out += next;
  }
  return out;
}

function badKey(reason: string): BadRequestException {
  return new BadRequestException(`invalid Idempotency-Key: ${reason}`);
}
