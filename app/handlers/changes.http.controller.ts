// GET /changes: the feed of status transitions, in commit order, with an opaque
// cursor; `wait` long-polls until a change after the cursor commits (this
// node's flushes wake it at once, other nodes' through the feed's LISTEN) or
// the deadline passes. A client that goes away ends its wait, and the number of
// waits at once is capped (503 beyond), so long-polls hold no unbounded memory.
import { BadRequestException, Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ChangeFeed } from '../../business/ports';
import { APP_CONFIG, AppConfig } from '../config';
import { ChangeView, toChangeView } from './change-view';
import { encodeCursor, parseChangesQuery } from './changes-query';
import { ApiRoute, json } from '../openapi/api-route.decorator';
import { ref } from '../openapi/schemas';

/** Thrown when CHANGES_MAX_WAITERS long-polls are already waiting. */
export class TooManyWaitersError extends Error {
  constructor(max: number) {
    super(`${max} long-polls are already waiting on /changes; retry later or without wait`);
    this.name = 'TooManyWaitersError';
  }
}

@Controller('changes')
export class ChangesController {
  private waiting = 0;

  constructor(
    @Inject(ChangeFeed) private readonly feed: ChangeFeed,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @ApiRoute({
    tag: 'Changes',
    summary: 'The feed of status transitions',
    description: 'Transitions in commit order after a cursor. With wait, long-polls until one commits or wait seconds pass (then answers an empty page with the same next).',
    parameters: [
      { name: 'after', in: 'query', description: 'A cursor from a previous answer (next, or a change\'s cursor); from the beginning when absent.', schema: { type: 'string' } },
      { name: 'limit', in: 'query', description: 'Changes per page.', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
      { name: 'wait', in: 'query', description: 'Seconds to long-poll when nothing is there yet.', schema: { type: 'integer', minimum: 0, maximum: 60, default: 0 } },
    ],
    ok: { 200: { description: 'A page of changes.', content: json(ref('ChangesPage')) } },
    errors: [400, 503],
  })
  @Get()
  async list(
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ changes: ChangeView[]; next: string }> {
    const parsed = parseChangesQuery(query);
    if (!parsed.ok) throw new BadRequestException(parsed.reason);
    const { after, limit, waitS } = parsed.value;
    let changes = await this.feed.read(after, limit);
    if (changes.length === 0 && waitS > 0) {
      if (this.waiting >= this.config.CHANGES_MAX_WAITERS) throw new TooManyWaitersError(this.config.CHANGES_MAX_WAITERS);
      this.waiting++;
      const gone = new AbortController();
      const onClose = () => gone.abort();
      reply.raw.once('close', onClose);
      try {
        if (await this.feed.wait(after, Date.now() + waitS * 1000, gone.signal)) changes = await this.feed.read(after, limit);
      } finally {
        reply.raw.off('close', onClose);
        this.waiting--;
      }
    }
    const next = changes.length > 0 ? changes[changes.length - 1].id : after;
    return { changes: changes.map(toChangeView), next: encodeCursor(next) };
  }
}

