// Overload and shutdown through the real server: a full backlog answers 503
// with Retry-After and readiness fails; shutdown stores what is pending.
import { CounterStore } from '../business/ports';
import { startServer } from '../app/main';
import { closeAgent, request } from './support/http';

afterAll(() => closeAgent());

describe('backpressure', () => {
  it('answers 503 with Retry-After once MAX_PENDING_EVENTS are waiting, and readiness fails', async () => {
    const server = await startServer({
      STORE: 'memory',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      ACK_MODE: 'buffered',
      FLUSH_INTERVAL_MS: '60000',
      MAX_PENDING_EVENTS: '5',
    });
    try {
      for (let i = 0; i < 5; i++) expect((await request(server.url, 'PUT', '/events/busy.com/delivered')).status).toBe(204);
      const refused = await request(server.url, 'PUT', '/events/busy.com/delivered');
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect(refused.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', message: expect.stringMatching(/overloaded/) });
      const batch = await request(server.url, 'POST', '/events', { events: [{ domain: 'busy.com', type: 'bounced' }] });
      expect(batch.status).toBe(503);
      const ready = await request(server.url, 'GET', '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.details.ingest).toMatchObject({ status: 'down', backlog: 5 });
      expect((await request(server.url, 'GET', '/health/live')).status).toBe(200);
      // Refused events changed nothing; accepted ones are visible (read-your-writes).
      expect((await request(server.url, 'GET', '/domains/busy.com')).body).toMatchObject({ delivered: 5, bounced: 0 });
    } finally {
      await server.close();
    }
  });
});

describe('shutdown', () => {
  it('flushes pending events to the store before the app closes', async () => {
    const server = await startServer({
      STORE: 'memory',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      ACK_MODE: 'buffered',
      FLUSH_INTERVAL_MS: '60000',
    });
    const store = server.app.get(CounterStore);
    for (let i = 0; i < 20; i++) await request(server.url, 'PUT', '/events/late.com/delivered');
    expect((await store.read(['late.com'])).get('late.com')).toBeUndefined();
    await server.close();
    expect((await store.read(['late.com'])).get('late.com')).toEqual({ delivered: 20, bounced: 0 });
  });
});
