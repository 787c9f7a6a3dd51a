// create-events against a real server on the memory store: every mode sends
// 20,000 events that are all acknowledged and verified domain by domain; the
// CLI itself prints a JSON report, and one clear line when nothing listens.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { run } from '../app/cmd/create-events';
import { FatalError } from '../app/cmd/create-events/run';
import { Options, withDefaults } from '../app/cmd/create-events/options';
import { startServer } from '../app/main';

const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
let server: { url: string; close(): Promise<void> };

beforeAll(async () => {
  server = await startServer({ STORE: 'memory', PORT: '0', ACK_MODE: 'durable', LOG_LEVEL: 'error' });
});
afterAll(() => server.close());

const options = (draft: Partial<Options>): Options => withDefaults({ url: server.url, progress: false, ...draft }, {});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, ['app/cmd/create-events.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('run()', () => {
  it.each([
    ['single', 101],
    ['batch', 102],
    ['ndjson', 103],
  ] as const)('%s mode: 20,000 events, every one acknowledged, every domain verified', async (mode, seed) => {
    const report = await run(options({ mode, events: 20_000, seed }));
    expect(report.events).toEqual({ sent: 20_000, acknowledged: 20_000, failed: 0 });
    expect(report.errors).toEqual({});
    expect(report.verification).toMatchObject({ outcome: 'passed', mismatches: [], inconclusive: 0 });
    expect(report.verification.matched).toBe(report.domains);
    const { expected } = report;
    expect(expected['catch-all'] + expected['not catch-all'] + expected.unknown).toBe(report.domains);
    expect(report.latencyMs.count).toBe(report.requests.acknowledged);
  });

  it('holds an open-loop rate in the reference (burst) order and verifies', async () => {
    const report = await run(options({ events: 3000, rate: 10_000, order: 'burst', seed: 104 }));
    expect(report.events.acknowledged).toBe(3000);
    expect(report.durationMs).toBeGreaterThanOrEqual(290);
    expect(report.verification.outcome).toBe('passed');
  });

  it('notices a reused seed: skips verification by default, checks the increase with --verify, refuses with --fresh', async () => {
    await run(options({ events: 4000, seed: 105 }));
    const again = await run(options({ events: 4000, seed: 105 }));
    expect(again.verification.outcome).toBe('skipped');
    expect(again.verification.note).toContain('already had counts');
    const forced = await run(options({ events: 4000, seed: 105, verify: 'on' }));
    expect(forced.verification).toMatchObject({ outcome: 'passed' });
    await expect(run(options({ events: 4000, seed: 105, fresh: true }))).rejects.toThrow(FatalError);
  });
});

describe('the CLI', () => {
  it('prints a JSON report and exits 0 when every event is acknowledged and verified', async () => {
    const { code, stdout, stderr } = await cli(['--url', server.url, '--events', '2000', '--json']);
    expect({ code, stderr }).toMatchObject({ code: 0 }); // stderr shows in the diff when it fails
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      url: server.url,
      mode: 'single',
      events: { sent: 2000, acknowledged: 2000, failed: 0 },
      errors: {},
      verification: { outcome: 'passed', mismatches: [] },
    });
    for (const key of ['p50', 'p95', 'p99', 'max']) expect(report.latencyMs[key]).toBeGreaterThan(0);
    expect(report.latencyMs.p50).toBeLessThanOrEqual(report.latencyMs.p99);
    expect(report.eventsPerSecond).toBeGreaterThan(0);
    expect(Number.isInteger(report.seed)).toBe(true);
    expect(report.expected['catch-all'] + report.expected['not catch-all'] + report.expected.unknown).toBe(report.domains);
  });

  it('says in one line that the service is not reachable, and how to start it', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { code, stdout, stderr } = await cli(['--url', `http://127.0.0.1:${port}`, '--events', '10']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([
      `create-events: the catchall service is not reachable at http://127.0.0.1:${port} (ECONNREFUSED): ` +
        'start it with `make start` in another terminal, or point --url at it',
    ]);
  });
});
