// A lean HTTP client for the load generator: node:http with one keep-alive
// Agent (maxSockets = concurrency), so tens of thousands of requests/s cost
// little more than the bytes on the wire. fetch/undici adds overhead per call.
import * as http from 'node:http';
import * as https from 'node:https';

export interface HttpAnswer {
  status: number;
  body: string;
  retryAfter?: string;
}

export interface HttpClient {
  request(method: string, path: string, body?: string, contentType?: string): Promise<HttpAnswer>;
  close(): void;
}

/** Codes that mean nothing is listening there, as opposed to a request failing midway. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

export function isUnreachable(error: unknown): boolean {
  return UNREACHABLE.has(errorCode(error));
}

/** The key a failed request is counted under: the HTTP status, or the network error's code. */
export function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'network error';
}

export function createHttpClient(baseUrl: string, concurrency: number, timeoutMs: number): HttpClient {
  const url = new URL(baseUrl);
  const transport = url.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const prefix = url.pathname.replace(/\/+$/, '');
  const base = { agent, protocol: url.protocol, hostname: url.hostname, port: url.port || undefined };

  const request = (method: string, path: string, body?: string, contentType?: string): Promise<HttpAnswer> =>
    new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { 'content-length': body === undefined ? 0 : Buffer.byteLength(body) };
      if (contentType) headers['content-type'] = contentType;
      const req = transport.request({ ...base, method, path: prefix + path, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, body: text, retryAfter });
        });
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'timeout' })));
      req.on('error', reject);
      req.end(body);
    });

  return { request, close: () => agent.destroy() };
}
