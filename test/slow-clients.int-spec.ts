// Slow, stalled and idle clients, and the connection cap, against the real
// server with short configured timeouts: a trickled or stalled body gets 408 or
// a closed socket within the request timeout, idle keep-alive sockets close,
// and connections over the cap are closed at once. Raw sockets, so nothing in
// the client hides what the server does.
import net from 'node:net';
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';
import { closeAgent, request } from './support/http';

const REQUEST_TIMEOUT_MS = 1_500;
let server: RunningServer;
let port: number;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  server = await startServer({
    STORE: 'memory',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    HTTP_HEADERS_TIMEOUT_MS: '1000',
    HTTP_KEEP_ALIVE_TIMEOUT_MS: '500',
    HTTP_IDLE_TIMEOUT_MS: '3000',
    HTTP_MAX_CONNECTIONS: '8',
  });
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await server.close();
  closeAgent();
});

interface Outcome {
  /** What the server wrote before closing (an HTTP answer, or nothing). */
  received: string;
  /** Milliseconds from connecting until the socket closed. */
  closedAfterMs: number;
}

/** Opens a socket, lets `feed` write to it, and resolves when the server closes it (or after `giveUpMs`). */
function connect(feed: (socket: net.Socket) => void, giveUpMs = 15_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    let received = '';
    const giveUp = setTimeout(() => reject(new Error(`socket still open after ${giveUpMs} ms; received ${JSON.stringify(received)}`)), giveUpMs);
    socket.on('connect', () => feed(socket));
    socket.on('data', (c) => (received += c.toString()));
    socket.on('error', () => undefined); // a reset is a close too
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ received, closedAfterMs: Date.now() - started });
    });
  });
}

/** Writes `text` one byte per `everyMs` until the socket closes. */
function trickle(socket: net.Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i++]);
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

function expectTimedOut(outcome: Outcome): void {
  // Either a 408 answer and then a close, or a close with no answer at all; never a 2xx.
  if (outcome.received !== '') expect(outcome.received).toMatch(/^HTTP\/1\.1 408 /);
}

describe('slow clients', () => {
  it('closes a body sent one byte a second (408 or a closed socket), long before it would end', async () => {
    const body = JSON.stringify({ events: [{ domain: 'slow.example', type: 'delivered' }] }); // ~60 s at 1 byte/s
    const outcome = await connect((s) => {
      s.write(`POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      trickle(s, body, 1_000);
    });
    expectTimedOut(outcome);
    expect(outcome.closedAfterMs).toBeLessThan(body.length * 1_000);
    expect((await request(server.url, 'GET', '/domains/slow.example')).body.delivered).toBe(0);
  });

  it('closes a chunked body that stops', async () => {
    const outcome = await connect((s) => {
      s.write('POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n');
      const line = '{"domain":"stalled.example","type":"delivered"}\n';
      s.write(`${line.length.toString(16)}\r\n${line}\r\n`); // one chunk, then nothing: no terminating 0-chunk
    });
    expectTimedOut(outcome);
    expect((await request(server.url, 'GET', '/domains/stalled.example')).body.delivered).toBe(0);
  });

  it('closes a client that sends its headers one byte a second', async () => {
    const outcome = await connect((s) => trickle(s, 'GET /health/live HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n', 1_000));
    expectTimedOut(outcome);
  });

  it('closes a connection that never sends a byte', async () => {
    const outcome = await connect(() => undefined);
    expect(outcome.received).toMatch(/^$|^HTTP\/1\.1 408 /);
  });

  it('closes an idle keep-alive socket after its answer', async () => {
    const outcome = await connect((s) => s.write('GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n'));
    expect(outcome.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(outcome.received).toMatch(/keep-alive/i);
  });
});

describe('the connection cap (HTTP_MAX_CONNECTIONS=8)', () => {
  it('closes connections over the cap at once and serves those under it', async () => {
    // Eight open connections, each with a request in flight that never ends.
    const held: Array<Promise<Outcome>> = [];
    for (let i = 0; i < 8; i++) {
      held.push(connect((s) => s.write('POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{')));
    }
    await new Promise((r) => setTimeout(r, 200));
    const over = await connect((s) => s.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(over.received).toBe('');
    // The held ones time out in turn, and then the server takes connections again.
    for (const outcome of await Promise.all(held)) expectTimedOut(outcome);
    expect((await request(server.url, 'GET', '/health/live')).status).toBe(200);
  });
});
