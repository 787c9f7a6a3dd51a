// The webhook-state port's contract (business/ports/webhook-state.port.ts), run
// against every adapter: leases exclude other owners until they expire or are
// released, the cursor moves only for the holder and never back, and parking
// records the failure and moves the cursor together.
import { setTimeout as sleep } from 'node:timers/promises';
import { WebhookState } from '../../business/ports';

interface StateUnderTest {
  state: WebhookState;
  close(): Promise<void>;
}

/** An empty state. */
export type MakeState = () => Promise<StateUnderTest>;

const TTL = 60_000;

export function describeWebhookStateContract(name: string, make: MakeState): void {
  describe(`WebhookState contract: ${name}`, () => {
    let state: WebhookState;
    let subject: StateUnderTest;

    beforeEach(async () => {
      subject = await make();
      ({ state } = subject);
    });

    afterEach(async () => {
      await subject.close();
    });

    it('gives a new endpoint to its first owner at cursor 0, renews it for that owner, and refuses others', async () => {
      expect(await state.acquire('ep1', 'a', TTL)).toBe(0);
      expect(await state.acquire('ep1', 'b', TTL)).toBeUndefined();
      expect(await state.acquire('ep1', 'a', TTL)).toBe(0);
      expect(await state.acquire('ep2', 'b', TTL)).toBe(0);
    });

    it('moves the cursor only for the holder, and never back', async () => {
      await state.acquire('ep1', 'a', TTL);
      expect(await state.advance('ep1', 'a', 5, TTL)).toBe(true);
      expect(await state.advance('ep1', 'b', 9, TTL)).toBe(false);
      expect(await state.advance('ep1', 'a', 3, TTL)).toBe(true);
      expect(await state.acquire('ep1', 'a', TTL)).toBe(5);
    });

    it('lets another owner take an expired or released lease, with the cursor where it was', async () => {
      await state.acquire('ep1', 'a', 50);
      await state.advance('ep1', 'a', 7, 50);
      expect(await state.acquire('ep1', 'b', TTL)).toBeUndefined();
      await sleep(120);
      expect(await state.acquire('ep1', 'b', TTL)).toBe(7);
      expect(await state.advance('ep1', 'a', 8, TTL)).toBe(false);
      await state.release('ep1', 'a'); // not a's any more: changes nothing
      expect(await state.acquire('ep1', 'a', TTL)).toBeUndefined();
      await state.release('ep1', 'b');
      expect(await state.acquire('ep1', 'a', TTL)).toBe(7);
    });

    it('parks a delivery and moves the cursor past it, only for the holder', async () => {
      await state.acquire('ep1', 'a', TTL);
      const at = new Date('2026-01-02T03:04:05.000Z');
      expect(await state.park({ endpoint: 'ep1', changeId: 4, attempts: 8, lastError: 'HTTP 500', at }, 'a', TTL)).toBe(true);
      expect(await state.park({ endpoint: 'ep1', changeId: 6, attempts: 8, lastError: 'HTTP 500', at }, 'b', TTL)).toBe(false);
      await state.acquire('ep2', 'a', TTL);
      const later = new Date('2026-01-02T03:04:06.000Z');
      await state.park({ endpoint: 'ep2', changeId: 5, attempts: 3, lastError: 'timeout', at: later }, 'a', TTL);
      expect(await state.acquire('ep1', 'a', TTL)).toBe(4);
      expect(await state.failures(10)).toEqual([
        { endpoint: 'ep2', changeId: 5, attempts: 3, lastError: 'timeout', at: later },
        { endpoint: 'ep1', changeId: 4, attempts: 8, lastError: 'HTTP 500', at },
      ]);
      expect(await state.failures(1)).toHaveLength(1);
      expect(await state.pruneFailures(later, 10)).toBe(1); // only the one recorded before `later`
      expect((await state.failures(10)).map((f) => f.changeId)).toEqual([5]);
      expect(await state.parkedCounts()).toEqual(new Map([['ep2', 1]]));
      await state.park({ endpoint: 'ep1', changeId: 9, attempts: 8, lastError: 'HTTP 500', at }, 'a', TTL);
      expect(await state.parkedCounts()).toEqual(
        new Map([
          ['ep1', 1],
          ['ep2', 1],
        ]),
      );
      expect(await state.pruneFailures(new Date(later.getTime() + 1), 1)).toBe(1);
      expect(await state.pruneFailures(new Date(later.getTime() + 1), 5)).toBe(1);
      expect(await state.failures(10)).toEqual([]);
    });
  });
}
