// The docker-compose observability stack cannot run here (no Docker), so its
// configuration is checked instead: the Grafana dashboard, its provisioning and
// the Prometheus config parse and point at each other, and every metric (and
// label) the dashboard queries is exposed by /metrics of a running service
// with the PostgreSQL store and the Redis cache.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startServer } from '../app/main';
import type { RunningServer } from '../app/server';
import { createTestDatabase, dropTestDatabase } from './support/postgres';
import { TestRedis } from './support/redis';

const root = path.resolve(__dirname, '..');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
}

const dashboard = JSON.parse(read('deploy/grafana/dashboards/catchall.json')) as { uid: string; panels: Panel[] };
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string; description?: string };
}
const alertRules = (parseYaml(read('deploy/prometheus/alerts.yml')) as { groups: Array<{ rules: AlertRule[] }> }).groups.flatMap(
  (g) => g.rules,
);
const METRIC = /\b((?:catchall|http|process|nodejs)_[a-z0-9_]+)\b/g;

/** The metric families of a Prometheus text exposition: name → type, and the label names seen per series name. */
function parseExposition(text: string): { types: Map<string, string>; labels: Map<string, Set<string>> } {
  const types = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!sample) continue;
    const set = labels.get(sample[1]) ?? new Set<string>();
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) set.add(m[1]);
    labels.set(sample[1], set);
  }
  return { types, labels };
}

/** The family a series name belongs to (histogram series carry _bucket/_count/_sum). */
function family(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  const base = name.replace(/_(bucket|count|sum)$/, '');
  return base !== name && (types.get(base) === 'histogram' || types.get(base) === 'summary') ? base : undefined;
}

describe('the dashboard and Prometheus configuration', () => {
  it('is a well-formed dashboard: unique panel ids, on the grid, provisioned data sources', () => {
    expect(dashboard.uid).toBe('catchall');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.targets?.length).toBeGreaterThan(0);
    }
    const provisioned = parseYaml(read('deploy/grafana/provisioning/datasources/datasources.yml')) as {
      datasources: Array<{ uid: string; type: string; url: string }>;
    };
    const uids = new Set(provisioned.datasources.map((d) => d.uid));
    for (const p of dashboard.panels) {
      if (p.datasource) expect(uids).toContain(p.datasource.uid);
      for (const t of p.targets ?? []) if (t.datasource) expect(uids).toContain(t.datasource.uid);
    }
    expect(provisioned.datasources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090' }),
        expect.objectContaining({ type: 'jaeger', url: 'http://jaeger:16686' }),
      ]),
    );
    const providers = parseYaml(read('deploy/grafana/provisioning/dashboards/dashboards.yml')) as {
      providers: Array<{ options: { path: string } }>;
    };
    expect(providers.providers[0].options.path).toBe('/var/lib/grafana/dashboards');
  });

  it('covers ingest rate, p95 latency, flush health and status counts', () => {
    const all = exprs.join('\n');
    expect(all).toMatch(/rate\(catchall_events_received_total/);
    expect(all).toMatch(/histogram_quantile\(0\.95, sum by \(le[^)]*\) \(rate\(http_request_duration_seconds_bucket/);
    expect(all).toMatch(/catchall_flushes_total/);
    expect(all).toMatch(/catchall_flush_duration_seconds_bucket/);
    expect(all).toMatch(/catchall_flush_consecutive_failures/);
    expect(all).toMatch(/sum by \(status_code\) \(rate\(http_request_duration_seconds_count/);
  });

  it('loads alert rules for flush failures, backlog, cache breaker and error rate, each with a severity and a summary', () => {
    const prom = parseYaml(read('deploy/prometheus/prometheus.yml')) as { rule_files?: string[] };
    expect(prom.rule_files).toEqual(['alerts.yml']);
    const names = alertRules.map((r) => r.alert);
    expect(names).toEqual(
      expect.arrayContaining(['CatchallFlushFailing', 'CatchallBacklogNearBound', 'CatchallCacheBreakerOpen', 'CatchallHighErrorRate']),
    );
    for (const r of alertRules) {
      expect([r.alert, r.labels?.severity]).toEqual([r.alert, expect.stringMatching(/^(warning|critical)$/)]);
      expect([r.alert, r.annotations?.summary]).toEqual([r.alert, expect.any(String)]);
    }
  });

  it('scrapes the service the compose file runs, whose mounts all exist', () => {
    const prom = parseYaml(read('deploy/prometheus/prometheus.yml')) as {
      scrape_configs: Array<{ job_name: string; metrics_path?: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const job = prom.scrape_configs.find((j) => j.job_name === 'catchall');
    expect(job?.metrics_path ?? '/metrics').toBe('/metrics');
    // Every service node of the compose file (three behind nginx).
    expect(job?.static_configs[0].targets).toEqual(['catchall-1:3000', 'catchall-2:3000', 'catchall-3:3000']);

    const compose = parseYaml(read('docker-compose.yml')) as {
      services: Record<string, { environment?: Record<string, string>; volumes?: string[]; ports?: string[] }>;
    };
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['catchall-1', 'catchall-2', 'catchall-3', 'nginx', 'jaeger', 'prometheus', 'grafana']),
    );
    const env = compose.services['catchall-1'].environment!;
    expect(env.PORT).toBe('3000');
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
    expect(compose.services.jaeger.ports).toEqual(expect.arrayContaining(['16686:16686', '4318:4318']));
    for (const s of Object.values(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0];
        if (source.startsWith('./')) expect(existsSync(path.join(root, source))).toBe(true);
      }
    }
  });
});

describe('/metrics of a running service (postgres store, redis cache, a webhook endpoint)', () => {
  let redis: TestRedis;
  let databaseUrl: string;
  let server: RunningServer;
  let exposition: ReturnType<typeof parseExposition>;

  beforeAll(async () => {
    redis = await TestRedis.start();
    databaseUrl = await createTestDatabase('catchall_metrics_test');
    server = await startServer({
      STORE: 'postgres',
      DATABASE_URL: databaseUrl,
      CACHE: 'redis',
      REDIS_URL: redis.url,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      // An endpoint that refuses connections: the webhook series exist (and count failed attempts).
      WEBHOOK_URLS: 'http://127.0.0.1:9/hook',
      WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 3).toString('base64')}`,
    });
    // Traffic that touches every family: writes, lookups (miss, then hit), a client error.
    for (const d of ['a.example.com', 'b.example.com', 'c.example.com']) {
      expect((await fetch(`${server.url}/events/${d}/delivered`, { method: 'PUT' })).status).toBe(204);
    }
    await fetch(`${server.url}/domains/a.example.com`);
    await fetch(`${server.url}/domains/never-seen.example.com`);
    await fetch(`${server.url}/domains/never-seen.example.com`);
    await fetch(`${server.url}/domains/not_a_domain`);
    exposition = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await redis?.stop();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it('exposes the named series of HTTP, ingest, flush, store, cache and process', () => {
    for (const name of [
      'http_request_duration_seconds',
      'catchall_events_received_total',
      'catchall_events_rejected_total',
      'catchall_pending_events',
      'catchall_flushes_total',
      'catchall_flush_duration_seconds',
      'catchall_flush_domains',
      'catchall_store_statement_duration_seconds',
      'catchall_store_errors_total',
      'catchall_cache_lookups_total',
      'catchall_cache_call_duration_seconds',
      'catchall_cache_errors_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect([name, exposition.types.has(name)]).toEqual([name, true]);
    }
    // Status codes and route templates as labels, never raw paths.
    const statuses = exposition.labels.get('http_request_duration_seconds_count');
    expect(statuses).toEqual(new Set(['method', 'route', 'status_code']));
  });

  it('exposes every metric the dashboard queries, with the labels it filters and groups by', () => {
    expect(missingFrom(exprs)).toEqual([]);
  });

  it('exposes every metric the alert rules use, with the labels they filter and group by', () => {
    // `up` is Prometheus's own series (is the target scraped), not the service's.
    const ours = alertRules.map((r) => r.expr).filter((e) => !/^up\{/.test(e));
    expect(ours.length).toBe(alertRules.length - 1);
    expect(missingFrom(ours)).toEqual([]);
  });

  /** The metric families and labels that the queries use but /metrics does not expose. */
  function missingFrom(queries: string[]): string[] {
    const missing: string[] = [];
    for (const expr of queries) {
      const names = [...expr.matchAll(METRIC)].map((m) => m[1]);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) {
        if (!family(name, exposition.types)) missing.push(`${name} (in ${expr})`);
      }
      // Label matchers of each selector, and the labels of by (…) clauses.
      const used = new Set<string>();
      for (const m of expr.matchAll(/\{([^}]*)\}/g)) for (const l of m[1].matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g)) used.add(l[1]);
      for (const m of expr.matchAll(/by \(([^)]*)\)/g)) for (const l of m[1].split(',')) used.add(l.trim());
      used.delete('le');
      used.delete('instance'); // added by Prometheus at scrape time
      const seen = new Set(names.flatMap((n) => [...(exposition.labels.get(n) ?? [])]));
      for (const l of used) if (seen.size > 0 && !seen.has(l)) missing.push(`label ${l} (in ${expr})`);
    }
    return missing;
  }
});
