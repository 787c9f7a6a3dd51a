// A lean HTTP/1.1 keep-alive client for the load generator: one socket per
// request in flight (at most `concurrency`), requests written as one string,
// answers parsed just far enough (status, length or chunks, Retry-After).
// node:http with a keep-alive Agent was tried first: its per-request machinery
// capped the generator at ~11k requests/s on this 2-core box (autocannon, which
// also writes raw sockets, reached ~49k against the same stub), so it would have
// measured itself rather than the service.
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import * as tls from 'node:tls';

export interface HttpAnswer {
  status: number;
  body: string;
  retryAfter?: string;
}

export interface HttpClient {
  request(method: string, path: string, body?: string, contentType?: string): Promise<HttpAnswer>;
  close(): void;
}

/** The key a failed request is counted under: the network error's code. */
export function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'network error';
}

const failure = (code: string, message: string): Error => Object.assign(new Error(message), { code });

interface Job {
  data: string;
  resolve(answer: HttpAnswer): void;
  reject(error: Error): void;
  sentAt?: number;
}

const EMPTY = Buffer.alloc(0);
const MAX_HEAD_BYTES = 64 * 1024;

/** An answer being read: its head is parsed, its body comes by length, by chunks or until the socket closes. */
interface Reading {
  status: number;
  retryAfter?: string;
  keepAlive: boolean;
  body: 'length' | 'chunked' | 'close';
  /** Bytes still due: of the body (length) or of the current chunk (chunked). */
  remaining: number;
  inTrailers: boolean;
  parts: Buffer[];
}

export function parseHead(head: string, method: string): Reading {
  const lines = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!status) throw failure('EPROTO', `not an HTTP/1.1 answer: ${lines[0].slice(0, 80)}`);
  const reading: Reading = {
    status: Number(status[1]),
    keepAlive: lines[0].startsWith('HTTP/1.1'),
    body: 'close',
    remaining: 0,
    inTrailers: false,
    parts: [],
  };
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    const name = lines[i].slice(0, colon).trim().toLowerCase();
    const value = lines[i].slice(colon + 1).trim();
    if (name === 'content-length') {
      reading.body = 'length';
      reading.remaining = Number(value);
    } else if (name === 'transfer-encoding' && /chunked/i.test(value)) reading.body = 'chunked';
    else if (name === 'retry-after') reading.retryAfter = value;
    else if (name === 'connection') reading.keepAlive = !/close/i.test(value);
  }
  const bodiless = method === 'HEAD' || reading.status === 204 || reading.status === 304 || reading.status < 200;
  if (bodiless) {
    reading.body = 'length';
    reading.remaining = 0;
  }
  return reading;
}

class Connection {
  readonly socket: net.Socket;
  job?: Job;
  private method = '';
  private buffer: Buffer = EMPTY;
  private reading?: Reading;

  constructor(
    url: URL,
    private readonly idle: (conn: Connection) => void,
    private readonly closed: (conn: Connection) => void,
  ) {
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    this.socket =
      url.protocol === 'https:'
        ? tls.connect({ host: url.hostname, port, servername: url.hostname })
        : net.connect({ host: url.hostname, port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => {
      this.fail(failure('ECONNRESET', 'the connection closed before the answer came'));
      this.closed(this);
    });
  }

  send(job: Job, method: string): void {
    this.job = job;
    this.method = method;
    job.sentAt = performance.now();
    this.socket.write(job.data);
  }

  fail(error: Error): void {
    const job = this.job;
    this.job = undefined;
    this.reading = undefined;
    this.socket.destroy();
    job?.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      while (this.step());
    } catch (error) {
      this.fail(error as Error);
    }
  }

  // The server is done with this socket: take it out of the pool now rather
  // than hand it a request it would never answer.
  private onEnd(): void {
    if (this.reading?.body === 'close') this.finish();
    else this.socket.destroy();
  }

  /** Makes what progress the buffered bytes allow; false when it needs more. */
  private step(): boolean {
    if (!this.reading) {
      if (this.buffer.length === 0) return false;
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.buffer.length > MAX_HEAD_BYTES) throw failure('EPROTO', 'answer head too large');
        return false;
      }
      if (!this.job) throw failure('EPROTO', 'an answer came with no request waiting');
      this.reading = parseHead(this.buffer.toString('latin1', 0, end), this.method);
      this.buffer = this.buffer.subarray(end + 4);
      return true;
    }
    const r = this.reading;
    if (r.body === 'length') {
      if (this.buffer.length < r.remaining) return false;
      r.parts.push(this.buffer.subarray(0, r.remaining));
      this.buffer = this.buffer.subarray(r.remaining);
      this.finish();
      return true;
    }
    if (r.body === 'close') {
      r.parts.push(this.buffer);
      this.buffer = EMPTY;
      return false;
    }
    if (r.remaining > 0) {
      if (this.buffer.length < r.remaining + 2) return false;
      r.parts.push(this.buffer.subarray(0, r.remaining));
      this.buffer = this.buffer.subarray(r.remaining + 2);
      r.remaining = 0;
      return true;
    }
    const eol = this.buffer.indexOf('\r\n');
    if (eol < 0) return false;
    const line = this.buffer.toString('latin1', 0, eol);
    this.buffer = this.buffer.subarray(eol + 2);
    if (r.inTrailers) {
      if (line === '') this.finish();
      return true;
    }
    const size = parseInt(line, 16);
    if (!Number.isFinite(size) || size < 0) throw failure('EPROTO', `bad chunk size "${line.slice(0, 20)}"`);
    if (size === 0) r.inTrailers = true;
    else r.remaining = size;
    return true;
  }

  private finish(): void {
    const r = this.reading!;
    this.reading = undefined;
    if (r.status < 200) return; // 1xx: the real answer follows
    const job = this.job!;
    this.job = undefined;
    const body = r.parts.length === 1 ? r.parts[0].toString('utf8') : Buffer.concat(r.parts).toString('utf8');
    job.resolve({ status: r.status, body, retryAfter: r.retryAfter });
    if (r.keepAlive && r.body !== 'close') this.idle(this);
    else this.socket.destroy();
  }
}

/** `apiKey`, when given, goes with every request as `Authorization: Bearer` (services run with API_KEYS). */
export function createHttpClient(baseUrl: string, concurrency: number, timeoutMs: number, apiKey?: string): HttpClient {
  const url = new URL(baseUrl);
  const prefix = url.pathname.replace(/\/+$/, '');
  const hostHeader = `Host: ${url.host}\r\n` + (apiKey ? `Authorization: Bearer ${apiKey}\r\n` : '');
  const all = new Set<Connection>();
  const idle: Connection[] = [];
  const waiting: { job: Job; method: string }[] = [];

  const onIdle = (conn: Connection): void => {
    const next = waiting.shift();
    if (next) conn.send(next.job, next.method);
    else idle.push(conn);
  };
  const onClosed = (conn: Connection): void => {
    all.delete(conn);
    const at = idle.indexOf(conn);
    if (at >= 0) idle.splice(at, 1);
    const next = waiting.shift();
    if (next) dispatch(next.job, next.method);
  };
  const dispatch = (job: Job, method: string): void => {
    const conn = idle.pop();
    if (conn) conn.send(job, method);
    else if (all.size < concurrency) {
      const fresh = new Connection(url, onIdle, onClosed);
      all.add(fresh);
      fresh.send(job, method);
    } else waiting.push({ job, method });
  };

  // One sweep instead of a timer per request: timers per request cost more than the request.
  const sweep = setInterval(
    () => {
      const late = performance.now() - timeoutMs;
      for (const conn of all) {
        if (conn.job?.sentAt !== undefined && conn.job.sentAt < late) {
          conn.fail(failure('timeout', `no answer within ${timeoutMs} ms`));
        }
      }
    },
    Math.max(10, Math.min(1000, timeoutMs / 4)),
  );
  sweep.unref();

  return {
    request(method, path, body, contentType) {
      const head =
        `${method} ${prefix}${path} HTTP/1.1\r\n${hostHeader}` +
        (contentType ? `Content-Type: ${contentType}\r\n` : '') +
        `Content-Length: ${body === undefined ? 0 : Buffer.byteLength(body)}\r\n\r\n`;
      return new Promise<HttpAnswer>((resolve, reject) => dispatch({ data: body === undefined ? head : head + body, resolve, reject }, method));
    },
    close() {
      clearInterval(sweep);
      for (const { job } of waiting.splice(0)) job.reject(failure('ECANCELED', 'client closed'));
      for (const conn of all) conn.socket.destroy();
    },
  };
}
