// Per-call CPU cost of what the edges add to a request: finding the API key of
// a bearer token (SHA-256 + timingSafeEqual against every key), taking tokens
// from a per-client bucket, and parsing the domain name (xn-- and IP checks).
// In-process and single-threaded, so it is far less sensitive to a busy box
// than an HTTP benchmark; docs/benchmarks.md ("Edges") quotes it beside
// bench/put-bench.ts's memory / memory-auth / memory-auth-limit scenarios.
//   npx tsx bench/edges-bench.ts [--rounds 5]
import { ApiKeyVerifier, bearerToken, parseApiKeys } from '../foundation/http/api-keys';
import { TokenBuckets } from '../foundation/http/token-bucket';
import { parseDomainName } from '../business/models/domain-name';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const N = 1_000_000;

function nsPerCall(f: (i: number) => unknown): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f(i);
  return Number(process.hrtime.bigint() - start) / N;
}

const secret = (i: number) => `secret-${i}-0123456789abcdef`;
const keys = (n: number) => parseApiKeys(Array.from({ length: n }, (_, i) => `k${i}:write:${secret(i)}`).join(','), ['write', 'read'])!;
const one = new ApiKeyVerifier(keys(1));
const ten = new ApiKeyVerifier(keys(10));
const header = `Bearer ${secret(0)}`;
const buckets = new TokenBuckets(1e9, 1e9);
const names = Array.from({ length: 1024 }, (_, i) => `d${i * 7919}.memory.example`);
const idn = Array.from({ length: 1024 }, (_, i) => `xn--bcher-kva${i}.example`.replace(`kva${i}`, 'kva') + `.x${i}`);

const cases: Array<[string, (i: number) => unknown]> = [
  ['bearerToken(header)', () => bearerToken(header)],
  ['verify, 1 key', () => one.verify(secret(0))],
  ['verify, 10 keys', () => ten.verify(secret(0))],
  ['TokenBuckets.take(key, 1)', () => buckets.take('k0', 1)],
  ['parseDomainName, plain name', (i) => parseDomainName(names[i & 1023])],
  ['parseDomainName, xn-- name (verdict remembered)', (i) => parseDomainName(idn[i & 1023])],
  ['parseDomainName, xn-- name (first sight)', (i) => parseDomainName(`xn--bcher-kva.y${i}`)],
];

const results = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let r = 0; r < rounds; r++) for (const [name, f] of cases) results.get(name)!.push(nsPerCall(f));
console.log(`Node ${process.version}, ${N.toLocaleString('en-US')} calls a round, ${rounds} rounds (first round is warm-up)`);
console.log('| operation | ns per call, min–max over rounds 2.. |\n|---|---|');
for (const [name, ns] of results) {
  const warm = ns.slice(1);
  console.log(`| ${name} | ${Math.min(...warm).toFixed(0)}–${Math.max(...warm).toFixed(0)} |`);
}
