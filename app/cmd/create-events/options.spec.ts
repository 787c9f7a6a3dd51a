// The option parser: defaults, the spellings it accepts, and one clear message per mistake.
import { DEFAULT_BATCH_SIZE, DEFAULT_CONCURRENCY, DEFAULT_EVENTS, Options, UsageError, parseOptions } from './options';

const parse = (args: string[], env: NodeJS.ProcessEnv = {}): Options => {
  const parsed = parseOptions(args, env);
  if (parsed.help) throw new Error('unexpected help');
  return parsed.options;
};
const mistake = (args: string[]): string => {
  try {
    parseOptions(args, {});
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no error for ${args.join(' ')}`);
};

describe('parseOptions', () => {
  it('has defaults that make `make createEvents` a useful first run', () => {
    const o = parse([]);
    expect(o).toMatchObject({
      url: 'http://localhost:3000',
      events: DEFAULT_EVENTS,
      concurrency: DEFAULT_CONCURRENCY,
      mode: 'single',
      batchSize: 1,
      order: 'interleave',
      threshold: 1000,
      verify: 'auto',
      fresh: false,
      retry: 0,
      json: false,
      progress: true,
    });
    expect(o.domains).toBeUndefined();
    expect(o.durationMs).toBeUndefined();
    expect(o.rate).toBeUndefined();
    expect(Number.isInteger(o.seed)).toBe(true);
  });

  it('takes the port from PORT', () => {
    expect(parse([], { PORT: '8080' }).url).toBe('http://localhost:8080');
  });

  it('accepts both --name value and --name=value, with k/m/e and separators in numbers', () => {
    expect(parse(['--events', '10k']).events).toBe(10_000);
    expect(parse(['--events=1.5m']).events).toBe(1_500_000);
    expect(parse(['--events', '1e6']).events).toBe(1_000_000);
    expect(parse(['--events', '20_000']).events).toBe(20_000);
    expect(parse(['--rate', '2.5k']).rate).toBe(2500);
    expect(parse(['--seed', '4294967295']).seed).toBe(4294967295);
  });

  it('reads durations in ms, s, m and h, a bare number being seconds', () => {
    expect(parse(['--duration', '500ms']).durationMs).toBe(500);
    expect(parse(['--duration', '30s']).durationMs).toBe(30_000);
    expect(parse(['--duration', '2m']).durationMs).toBe(120_000);
    expect(parse(['--duration', '1h']).durationMs).toBe(3_600_000);
    expect(parse(['--duration', '1.5']).durationMs).toBe(1500);
  });

  it('drops the default event count when another limit is given', () => {
    expect(parse(['--duration', '10s']).events).toBeUndefined();
    expect(parse(['--domains', '50']).events).toBeUndefined();
    expect(parse(['--domains', '50', '--events', '5000'])).toMatchObject({ domains: 50, events: 5000 });
  });

  it('batches 500 events a request unless told otherwise', () => {
    expect(parse(['--mode', 'batch']).batchSize).toBe(DEFAULT_BATCH_SIZE);
    expect(parse(['--mode', 'ndjson', '--batch-size', '2000'])).toMatchObject({ mode: 'ndjson', batchSize: 2000 });
  });

  it('sets the flags', () => {
    expect(parse(['--verify']).verify).toBe('on');
    expect(parse(['--no-verify']).verify).toBe('off');
    expect(parse(['--fresh', '--json', '--no-progress'])).toMatchObject({ fresh: true, json: true, progress: false });
    expect(parse(['--order', 'burst', '--retry', '3', '--timeout', '2s', '--threshold', '0'])).toMatchObject({
      order: 'burst',
      retry: 3,
      timeoutMs: 2000,
      threshold: 0,
    });
  });

  it('normalises the URL (no trailing slash, path kept as a prefix)', () => {
    expect(parse(['--url', 'http://127.0.0.1:3917/']).url).toBe('http://127.0.0.1:3917');
    expect(parse(['--url', 'https://lb.example/catchall/']).url).toBe('https://lb.example/catchall');
  });

  it('answers -h and --help with the help text', () => {
    expect(parseOptions(['--events', '5', '--help'])).toEqual({ help: true });
    expect(parseOptions(['-h'])).toEqual({ help: true });
  });

  it.each([
    [['--bogus'], 'unknown option --bogus (see --help)'],
    [['events'], 'unexpected argument "events" (options start with --; see --help)'],
    [['--events'], '--events needs a value'],
    [['--seed', '--json'], '--seed needs a value'],
    [['--json=yes'], '--json takes no value'],
    [['--events', '0'], '--events takes a whole number ≥ 1 (like 10000 or 10k), not "0"'],
    [['--events', '1.5'], '--events takes a whole number ≥ 1 (like 10000 or 10k), not "1.5"'],
    [['--concurrency', 'many'], '--concurrency takes a whole number ≥ 1 (like 10000 or 10k), not "many"'],
    [['--rate', '0'], '--rate takes a number > 0 (like 5000 or 5k), not "0"'],
    [['--duration', '30 sec'], '--duration takes a duration like 500ms, 30s or 5m, not "30 sec"'],
    [['--mode', 'bulk'], '--mode takes single, batch, ndjson, not "bulk"'],
    [['--order', 'random'], '--order takes interleave, burst, not "random"'],
    [['--seed', '-1'], '--seed takes a whole number from 0 to 4294967295, not "-1"'],
    [['--seed', '4294967296'], '--seed takes a whole number from 0 to 4294967295, not "4294967296"'],
    [['--url', 'localhost:3000'], '--url must be http:// or https://, not localhost:'],
    [['--url', 'nope'], '--url "nope" is not a URL (like http://localhost:3000)'],
    [['--batch-size', '100'], '--batch-size applies to --mode batch or ndjson'],
  ])('refuses %j with one clear line', (args, message) => {
    expect(mistake(args)).toBe(message);
  });
});
