// The raw keep-alive client against a real node:http server: the answers it
// must read (empty, sized, chunked, closing), the errors it must name, and the
// connection limit it must keep.
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpClient, createHttpClient, errorCode, parseHead } from './http';

let server: http.Server;
let url: string;
let connections = 0;
const clients: HttpClient[] = [];
const client = (concurrency = 4, timeoutMs = 2000): HttpClient => {
  const c = createHttpClient(url, concurrency, timeoutMs);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/empty') res.writeHead(204).end();
      else if (req.url === '/echo') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'] ?? null }));
      else if (req.url === '/chunked') {
        res.writeHead(200);
        res.write('{"accepted":');
        setTimeout(() => res.end('12}'), 5);
      } else if (req.url === '/busy') res.writeHead(503, { 'retry-after': '2', connection: 'close' }).end('{"statusCode":503}');
      else if (req.url === '/slow') setTimeout(() => res.writeHead(204).end(), 200);
      else if (req.url === '/prefix/ok') res.writeHead(204).end();
      else res.writeHead(404).end('nope');
    });
  });
  server.on('connection', () => connections++);
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => clients.splice(0).forEach((c) => c.close()));
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('createHttpClient', () => {
  it('reads empty, sized and chunked answers, and sends bodies with their type', async () => {
    const c = client();
    expect(await c.request('PUT', '/empty')).toEqual({ status: 204, body: '', retryAfter: undefined });
    const echo = await c.request('POST', '/echo', '{"events":["é"]}', 'application/json');
    expect(JSON.parse(echo.body)).toEqual({ method: 'POST', body: '{"events":["é"]}', type: 'application/json' });
    expect(await c.request('GET', '/chunked')).toMatchObject({ status: 200, body: '{"accepted":12}' });
    expect(await c.request('GET', '/missing')).toMatchObject({ status: 404, body: 'nope' });
  });

  it('hands Retry-After back and survives the server closing the connection', async () => {
    const c = client();
    expect(await c.request('PUT', '/busy')).toMatchObject({ status: 503, retryAfter: '2' });
    expect((await c.request('PUT', '/empty')).status).toBe(204);
    await sleep(300); // past the server's keep-alive timeout: idle sockets are closed under the client
    expect((await c.request('PUT', '/empty')).status).toBe(204);
  });

  it('keeps to `concurrency` connections, reusing them', async () => {
    const c = client(2);
    const before = connections;
    const answers = await Promise.all(Array.from({ length: 20 }, () => c.request('PUT', '/empty')));
    expect(answers.every((a) => a.status === 204)).toBe(true);
    expect(connections - before).toBeLessThanOrEqual(2);
  });

  it('puts the URL path in front of every request path', async () => {
    const c = createHttpClient(`${url}/prefix/`, 1, 1000);
    clients.push(c);
    expect((await c.request('PUT', '/ok')).status).toBe(204);
  });

  it('names a timeout and a refused connection by code', async () => {
    await expect(client(1, 50).request('PUT', '/slow').catch(errorCode)).resolves.toBe('timeout');
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = createHttpClient(`http://127.0.0.1:${port}`, 1, 1000);
    clients.push(refused);
    await expect(refused.request('PUT', '/empty').catch(errorCode)).resolves.toBe('ECONNREFUSED');
  });
});

describe('parseHead', () => {
  it('knows which answers have no body and when the connection ends', () => {
    expect(parseHead('HTTP/1.1 204 No Content\r\nContent-Length: 5', 'PUT')).toMatchObject({ status: 204, body: 'length', remaining: 0 });
    expect(parseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked', 'POST')).toMatchObject({ body: 'chunked', keepAlive: true });
    expect(parseHead('HTTP/1.1 200 OK\r\nConnection: close', 'GET')).toMatchObject({ body: 'close', keepAlive: false });
    expect(parseHead('HTTP/1.0 200 OK\r\nContent-Length: 2', 'GET')).toMatchObject({ body: 'length', remaining: 2, keepAlive: false });
    expect(() => parseHead('SSH-2.0-OpenSSH', 'GET')).toThrow('not an HTTP/1.1 answer');
  });
});
