// Memory used per million domains by the memory counter store: fills it with
// N random 14-letter domains (the generator's shape) and reports heap plus
// array-buffer bytes per million. Run: npx tsx --expose-gc bench/memory-store.ts [millions]
import { MemoryCounterStore } from '../business/adapters/memory/memory-counter-store.adapter';

const TLDS = ['.net', '.com', '.org', '.io', '.gov'];

function randomDomain(i: number): string {
  let s = '';
  let x = (i + 1) * 2654435761;
  for (let k = 0; k < 14; k++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    s += String.fromCharCode(97 + (x % 26));
  }
  return s + TLDS[i % 5];
}

function used(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function main(): Promise<void> {
  const millions = Number(process.argv[2] ?? 10);
  if (!(globalThis as { gc?: () => void }).gc) console.warn('run with --expose-gc for exact figures');
  const store = new MemoryCounterStore();
  const before = used();
  const batch = 100_000;
  const started = Date.now();
  for (let i = 0; i < millions * 1_000_000; i += batch) {
    const deltas = new Map<string, { delivered: number; bounced: number }>();
    for (let j = i; j < i + batch; j++) deltas.set(randomDomain(j), { delivered: 1, bounced: j % 25 === 0 ? 1 : 0 });
    await store.apply(deltas);
  }
  const after = used();
  const perMillion = (after - before) / millions;
  console.log(
    JSON.stringify({
      domains: store.domainCount,
      totalMiB: +((after - before) / 2 ** 20).toFixed(1),
      mibPerMillion: +(perMillion / 2 ** 20).toFixed(1),
      bytesPerDomain: Math.round(perMillion / 1e6),
      fillSeconds: (Date.now() - started) / 1000,
    }),
  );
}

void main();
