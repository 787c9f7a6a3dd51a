// Command-line options of create-events: parsing, defaults and the --help text.
// Hand-rolled rather than util.parseArgs so every mistake gets a one-line
// message that names the option and what it accepts.
import { Order } from './distribution';
import { randomSeed } from './prng';

type Mode = 'single' | 'batch' | 'ndjson';
/** auto: verify when the generated domains were unknown before the run. */
type VerifyMode = 'auto' | 'on' | 'off';

export interface Options {
  url: string;
  events?: number;
  domains?: number;
  durationMs?: number;
  concurrency: number;
  mode: Mode;
  /** Events per request; 1 in single mode. */
  batchSize: number;
  order: Order;
  seed: number;
  /** Open loop: events per second. Absent: closed loop, as fast as `concurrency` allows. */
  rate?: number;
  threshold: number;
  verify: VerifyMode;
  fresh: boolean;
  retry: number;
  timeoutMs: number;
  json: boolean;
  progress: boolean;
  /** A write key for a service run with API_KEYS (from CATCHALL_API_KEY: not a flag, so it stays out of `ps`). */
  apiKey?: string;
}

export class UsageError extends Error {}

export const DEFAULT_EVENTS = 10_000;
export const DEFAULT_CONCURRENCY = 64;
export const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_THRESHOLD = 1000;
const DEFAULT_TIMEOUT_MS = 30_000;

export const HELP = `Usage: create-events [options]     (make createEvents ARGS="…")

Sends a stream of delivered/bounced events to the catchall service, with the
distribution of the assessment's reference generator, then reports throughput,
latency and, unless told not to, checks every generated domain's status and counts.

How much (default --events ${DEFAULT_EVENTS.toLocaleString('en-US')}; the first limit reached ends the run):
  --events N            total events (10k, 1m and 1e6 are fine); the last domain's burst is cut short
  --domains N           stop after N domains
  --duration T          keep sending for T (500ms, 30s, 5m)

How:
  --url URL             the service (default http://localhost:$PORT, PORT default 3000)
  --mode M              single: PUT /events/{domain}/{type} per event (default)
                        batch:  POST /events, JSON;  ndjson: POST /events, NDJSON
  --batch-size N        events per request in batch/ndjson mode (default ${DEFAULT_BATCH_SIZE})
  --concurrency N       requests in flight and connections (default ${DEFAULT_CONCURRENCY})
  --rate N              open loop: send N events/s on schedule and measure latency from the
                        scheduled time (no coordinated omission); default: closed loop, flat out
  --order O             interleave: 64 domains mid-burst at once, realistic (default)
                        burst: each domain's events together, as the reference generator
  --seed N              reproduce a run's domains, counts and order (default: random, printed)
  --retry N             resend a request answered 503 or cut off, up to N times (default 0);
                        a retried event may be counted twice, so verification treats it as uncertain
  --timeout T           per-request timeout (default ${DEFAULT_TIMEOUT_MS / 1000}s)

Checking:
  --verify              always verify afterwards: bulk-look every domain up and compare status
                        and counts with what was acknowledged (by default verification runs when
                        the generated domains were unknown before the run)
  --no-verify           skip the before and after look-ups
  --fresh               refuse to send unless every generated domain is unknown with zero counts
  --threshold N         the service's CATCHALL_THRESHOLD, for the expected statuses (default ${DEFAULT_THRESHOLD})

Output:
  --json                print the report as JSON on stdout
  --no-progress         no progress bar / progress lines on stderr
  -h, --help            this text

Environment:
  CATCHALL_API_KEY      a write key, sent as Authorization: Bearer, for a service run with API_KEYS

Exit status: 0 every event acknowledged and verification passed (or was not run);
1 some requests failed, or verification found a mismatch or could not be sure;
2 bad usage, service not reachable, or --fresh found counts already there.
`;

type Setter = (o: Draft, value: string) => void;
type Flag = (o: Draft) => void;
type Draft = Partial<Options> & { batchSizeGiven?: boolean };

const VALUED: Record<string, Setter> = {
  url: (o, v) => (o.url = parseUrl(v)),
  events: (o, v) => (o.events = parseCount('--events', v)),
  domains: (o, v) => (o.domains = parseCount('--domains', v)),
  duration: (o, v) => (o.durationMs = parseDuration('--duration', v)),
  concurrency: (o, v) => (o.concurrency = parseCount('--concurrency', v)),
  mode: (o, v) => (o.mode = parseChoice('--mode', v, ['single', 'batch', 'ndjson'] as const)),
  'batch-size': (o, v) => {
    o.batchSize = parseCount('--batch-size', v);
    o.batchSizeGiven = true;
  },
  order: (o, v) => (o.order = parseChoice('--order', v, ['interleave', 'burst'] as const)),
  seed: (o, v) => (o.seed = parseSeed(v)),
  rate: (o, v) => (o.rate = parsePositive('--rate', v)),
  threshold: (o, v) => (o.threshold = parseCount('--threshold', v, 0)),
  retry: (o, v) => (o.retry = parseCount('--retry', v, 0)),
  timeout: (o, v) => (o.timeoutMs = parseDuration('--timeout', v)),
};

const FLAGS: Record<string, Flag> = {
  verify: (o) => (o.verify = 'on'),
  'no-verify': (o) => (o.verify = 'off'),
  fresh: (o) => (o.fresh = true),
  json: (o) => (o.json = true),
  'no-progress': (o) => (o.progress = false),
};

export type Parsed = { help: true } | { help: false; options: Options };

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Parsed {
  const draft: Draft = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return { help: true };
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}" (options start with --; see --help)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (FLAGS[name]) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      FLAGS[name](draft);
    } else if (VALUED[name]) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      VALUED[name](draft, value);
    } else {
      throw new UsageError(`unknown option --${name} (see --help)`);
    }
  }
  return { help: false, options: withDefaults(draft, env) };
}

/** Fills in the defaults and checks the combination; the programmatic entry (tests) uses it too. */
export function withDefaults(draft: Draft, env: NodeJS.ProcessEnv = process.env): Options {
  const mode = draft.mode ?? 'single';
  if (mode === 'single' && draft.batchSizeGiven) {
    throw new UsageError('--batch-size applies to --mode batch or ndjson');
  }
  const unbounded = draft.events === undefined && draft.domains === undefined && draft.durationMs === undefined;
  const options: Options = {
    url: draft.url ?? parseUrl(`http://localhost:${env.PORT || 3000}`),
    events: unbounded ? DEFAULT_EVENTS : draft.events,
    domains: draft.domains,
    durationMs: draft.durationMs,
    concurrency: draft.concurrency ?? DEFAULT_CONCURRENCY,
    mode,
    batchSize: mode === 'single' ? 1 : (draft.batchSize ?? DEFAULT_BATCH_SIZE),
    order: draft.order ?? 'interleave',
    seed: draft.seed ?? randomSeed(),
    rate: draft.rate,
    threshold: draft.threshold ?? DEFAULT_THRESHOLD,
    verify: draft.verify ?? 'auto',
    fresh: draft.fresh ?? false,
    apiKey: env.CATCHALL_API_KEY?.trim() || undefined,
    retry: draft.retry ?? 0,
    timeoutMs: draft.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    json: draft.json ?? false,
    progress: draft.progress ?? true,
  };
  return options;
}

function parseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url "${value}" is not a URL (like http://localhost:3000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be http:// or https://, not ${url.protocol}`);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

const SUFFIX: Record<string, number> = { '': 1, k: 1e3, m: 1e6 };

/** 5000, 5k, 1.5m, 1e6, 10_000, 10,000. */
function withSuffix(value: string): number {
  const match = /^(\d+(?:\.\d+)?(?:e\d+)?)([km]?)$/i.exec(value.replace(/[_,]/g, ''));
  return match ? Number(match[1]) * SUFFIX[match[2].toLowerCase()] : NaN;
}

/** Whole numbers ≥ `min` (default 1). */
function parseCount(option: string, value: string, min = 1): number {
  const n = withSuffix(value);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${option} takes a whole number ≥ ${min} (like 10000 or 10k), not "${value}"`);
  }
  return n;
}

function parsePositive(option: string, value: string): number {
  const n = withSuffix(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${option} takes a number > 0 (like 5000 or 5k), not "${value}"`);
  return n;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** 500ms, 30s, 5m, 1h; a bare number is seconds. */
function parseDuration(option: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']) : NaN;
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new UsageError(`${option} takes a duration like 500ms, 30s or 5m, not "${value}"`);
  }
  return ms;
}

function parseSeed(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) {
    throw new UsageError(`--seed takes a whole number from 0 to 4294967295, not "${value}"`);
  }
  return n;
}

function parseChoice<T extends string>(option: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${option} takes ${choices.join(', ')}, not "${value}"`);
}
