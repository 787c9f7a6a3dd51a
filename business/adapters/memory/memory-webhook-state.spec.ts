// The memory webhook state against the webhook-state contract, and its bound.
import { describeWebhookStateContract } from '../../../test/contracts/webhook-state.contract';
import { MemoryWebhookState } from './memory-webhook-state.adapter';

describeWebhookStateContract('memory', async () => ({ state: new MemoryWebhookState(), close: async () => undefined }));

describe('MemoryWebhookState', () => {
  it('keeps the latest parked deliveries only, counts them all, and says it is not durable', async () => {
    const state = new MemoryWebhookState(2);
    await state.acquire('ep', 'a', 60_000);
    for (const id of [1, 2, 3]) await state.park({ endpoint: 'ep', changeId: id, attempts: 1, lastError: 'x', at: new Date() }, 'a', 60_000);
    expect((await state.failures(10)).map((f) => f.changeId)).toEqual([3, 2]);
    expect(await state.parkedCounts()).toEqual(new Map([['ep', 3]]));
    expect(state.info().durable).toBe(false);
  });
});
