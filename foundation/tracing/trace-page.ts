// Renders a trace buffer snapshot as one self-contained HTML page (no scripts, no
// external assets): a per-name latency summary, then the most recent and the
// slowest traces, each as a span tree with a timing waterfall. Span links (a
// flush → the requests it stored) become anchors between traces on the page.
import { SpanView, SUMMARY_BUCKETS_MS, TraceBufferSnapshot, TraceView } from './trace-buffer';

export interface TracePageInfo {
  title: string;
  /** Shown under the title: service, version, sampler and the like. */
  facts: Record<string, string | number | boolean | undefined>;
  /** How many traces of each list start expanded. */
  openFirst?: number;
}

/** Content-Security-Policy for the page: inline styles only, nothing executable. */
export const TRACE_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const MAX_LINKS_SHOWN = 24;

export function renderTracePage(snapshot: TraceBufferSnapshot, info: TracePageInfo): string {
  const openFirst = info.openFirst ?? 2;
  const present = new Set<string>([...snapshot.recent, ...snapshot.slowest].map((t) => t.traceId));
  const linkedFrom = reverseLinks([...snapshot.recent, ...snapshot.slowest]);
  const anchored = new Set<string>();
  const ctx: RenderContext = { present, linkedFrom, anchored };

  const facts = Object.entries(info.facts)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `<span><b>${esc(k)}</b> ${esc(String(v))}</span>`)
    .join('');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)}</title>
<style>${STYLE}</style></head>
<body>
<header>
  <h1>${esc(info.title)}</h1>
  <p class="facts">${facts}<span><b>spans seen</b> ${snapshot.spansSeen}</span><span><b>generated</b> ${esc(clock(Date.now()))}</span></p>
  <nav><a href="?">refresh</a><a href="#recent">recent</a><a href="#slowest">slowest</a><a href="#summary">summary</a><a href="?format=json">json</a></nav>
</header>
<main>
<section id="recent"><h2>Most recent traces <small>(last ${snapshot.limits.maxRecent})</small></h2>
${traceList(snapshot.recent, openFirst, ctx)}
</section>
<section id="slowest"><h2>Slowest traces <small>(top ${snapshot.limits.maxSlowest} by root span duration)</small></h2>
${traceList(snapshot.slowest, openFirst, ctx)}
</section>
<section id="summary"><h2>Root spans by name</h2>
${summaryTable(snapshot)}
</section>
</main>
</body></html>
`;
}

interface RenderContext {
  present: Set<string>;
  linkedFrom: Map<string, string[]>;
  anchored: Set<string>;
}

function traceList(traces: TraceView[], openFirst: number, ctx: RenderContext): string {
  if (traces.length === 0) {
    return '<p class="empty">No sampled traces yet. Send some requests (and check the sampler ratio above).</p>';
  }
  return traces.map((t, i) => traceBlock(t, i < openFirst, ctx)).join('\n');
}

function traceBlock(t: TraceView, open: boolean, ctx: RenderContext): string {
  // A trace may be listed twice (recent and slowest); only its first block gets the anchor.
  const id = ctx.anchored.has(t.traceId) ? '' : ` id="t-${esc(t.traceId)}"`;
  ctx.anchored.add(t.traceId);
  const badges = [
    t.error ? '<span class="badge err">error</span>' : '',
    t.complete ? '' : '<span class="badge">root span still open</span>',
    t.droppedSpans > 0 ? `<span class="badge">${t.droppedSpans} spans dropped</span>` : '',
  ].join('');
  const by = ctx.linkedFrom.get(t.traceId);
  const back = by
    ? `<p class="backlinks">linked from ${by.map((x) => traceRef(x, ctx)).join(' ')}</p>`
    : '';
  return `<details class="trace${t.error ? ' error' : ''}"${id}${open ? ' open' : ''}>
<summary><span class="when">${esc(clock(t.startTime))}</span><span class="name">${esc(t.name)}</span><span class="dur">${ms(t.durationMs)}</span><span class="count">${t.spanCount} span${t.spanCount === 1 ? '' : 's'}</span><code>${esc(t.traceId)}</code>${badges}</summary>
${back}${waterfall(t, ctx)}
</details>`;
}

function waterfall(t: TraceView, ctx: RenderContext): string {
  const start = t.startTime;
  const end = t.spans.reduce((m, s) => Math.max(m, s.startTime + s.durationMs), start);
  const total = Math.max(end - start, 0.001);
  const rows = orderAsTree(t.spans)
    .map(({ span, depth }) => {
      const left = ((span.startTime - start) / total) * 100;
      const width = Math.max((span.durationMs / total) * 100, 0.4);
      const cls = span.status === 'error' ? 'bar err' : 'bar';
      return `<tr class="span">
<td class="sname" style="padding-left:${0.5 + depth * 1.25}rem"><span class="kind">${esc(span.kind.toLowerCase())}</span>${esc(span.name)}</td>
<td class="timeline"><div class="${cls}" style="margin-left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%"></div></td>
<td class="ms">${ms(span.durationMs)}</td></tr>
<tr class="detail"><td colspan="3" style="padding-left:${1.9 + depth * 1.25}rem">${details(span, ctx)}</td></tr>`;
    })
    .join('\n');
  return `<table class="waterfall"><colgroup><col class="c-name"><col class="c-bar"><col class="c-ms"></colgroup>
<tbody>${rows}</tbody></table>`;
}

function details(span: SpanView, ctx: RenderContext): string {
  const parts: string[] = [];
  if (span.statusMessage) parts.push(`<span class="kv err"><b>status</b> ${esc(span.statusMessage)}</span>`);
  for (const [k, v] of Object.entries(span.attributes)) {
    parts.push(`<span class="kv"><b>${esc(k)}</b> ${esc(String(v))}</span>`);
  }
  for (const ev of span.events) {
    parts.push(`<span class="kv ev"><b>event</b> ${esc(ev.name)} @ ${ms(ev.offsetMs)}</span>`);
  }
  if (span.remoteParent) parts.push(`<span class="kv"><b>parent</b> remote ${esc(span.parentSpanId ?? '')}</span>`);
  if (span.links.length > 0) {
    const shown = span.links.slice(0, MAX_LINKS_SHOWN).map((l) => traceRef(l.traceId, ctx));
    const more = span.links.length - shown.length + (span.droppedLinks ?? 0);
    parts.push(
      `<span class="kv links"><b>links (${span.links.length + (span.droppedLinks ?? 0)})</b> ${shown.join(' ')}${more > 0 ? ` +${more} more` : ''}</span>`,
    );
  }
  return parts.join('') || '<span class="kv none">no attributes</span>';
}

function traceRef(traceId: string, ctx: RenderContext): string {
  const short = esc(traceId.slice(0, 8));
  return ctx.present.has(traceId)
    ? `<a class="ref" href="#t-${esc(traceId)}" title="${esc(traceId)}">${short}</a>`
    : `<span class="ref gone" title="${esc(traceId)}: not in the buffer (not sampled, or evicted)">${short}</span>`;
}

/** Depth-first, children by start time; spans whose parent is not in the trace are roots. */
function orderAsTree(spans: SpanView[]): Array<{ span: SpanView; depth: number }> {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, SpanView[]>();
  const roots: SpanView[] = [];
  for (const s of spans) {
    if (s.parentSpanId !== undefined && ids.has(s.parentSpanId)) {
      const list = children.get(s.parentSpanId) ?? [];
      list.push(s);
      children.set(s.parentSpanId, list);
    } else {
      roots.push(s);
    }
  }
  const out: Array<{ span: SpanView; depth: number }> = [];
  const visit = (s: SpanView, depth: number): void => {
    out.push({ span: s, depth });
    for (const c of (children.get(s.spanId) ?? []).sort((a, b) => a.startTime - b.startTime)) visit(c, depth + 1);
  };
  for (const r of roots.sort((a, b) => a.startTime - b.startTime)) visit(r, 0);
  return out;
}

function reverseLinks(traces: TraceView[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const t of traces) {
    if (seen.has(t.traceId)) continue;
    seen.add(t.traceId);
    for (const s of t.spans) {
      for (const l of s.links) {
        const list = out.get(l.traceId) ?? [];
        if (!list.includes(t.traceId)) list.push(t.traceId);
        out.set(l.traceId, list);
      }
    }
  }
  return out;
}

function summaryTable(snapshot: TraceBufferSnapshot): string {
  if (snapshot.summary.length === 0) return '<p class="empty">Nothing yet.</p>';
  const bounds = ['0', ...SUMMARY_BUCKETS_MS.map((b) => (b >= 1000 ? `${b / 1000}s` : `${b}ms`))];
  const heads = bounds.map((lo, i) => (i < SUMMARY_BUCKETS_MS.length ? `${lo}–${bounds[i + 1]}` : `≥ ${lo}`));
  const rows = snapshot.summary
    .map(
      (s) =>
        `<tr><td>${esc(s.name)}</td><td class="num">${s.count}</td><td class="num${s.errors ? ' err' : ''}">${s.errors}</td>${s.buckets
          .map((n) => `<td class="num${n === 0 ? ' zero' : ''}">${n}</td>`)
          .join('')}<td class="num">${ms(s.maxMs)}</td></tr>`,
    )
    .join('\n');
  return `<table class="summary"><thead><tr><th>root span</th><th>count</th><th>errors</th>${heads
    .map((h) => `<th>${esc(h)}</th>`)
    .join('')}<th>max</th></tr></thead><tbody>${rows}</tbody></table>
<p class="note">Counts cover every sampled root span since the process started (up to 100 distinct names); the lists above keep only the newest and the slowest traces.</p>`;
}

function ms(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 100) return `${v.toFixed(0)} ms`;
  if (v >= 10) return `${v.toFixed(1)} ms`;
  return `${v.toFixed(2)} ms`;
}

function clock(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(11, 23)}Z`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const STYLE = `
:root{--fg:#1d2330;--muted:#6b7385;--line:#e3e6ec;--bg:#f6f7f9;--bar:#3b82f6;--err:#d14343;--card:#fff}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#1d2330;color:#fff;padding:14px 24px 10px}
header h1{margin:0 0 4px;font-size:20px;font-weight:600}
.facts{margin:0;color:#c5cad6;font-size:12.5px;display:flex;flex-wrap:wrap;gap:4px 16px}
.facts b{color:#8f97aa;font-weight:500;margin-right:3px}
nav{margin-top:8px;display:flex;gap:14px}
nav a{color:#9ec5ff;text-decoration:none;font-size:13px}
main{padding:8px 24px 40px;max-width:1400px}
h2{font-size:16px;margin:22px 0 8px}
h2 small{color:var(--muted);font-weight:400;font-size:12.5px}
.empty,.note{color:var(--muted)}
.note{font-size:12px}
details.trace{background:var(--card);border:1px solid var(--line);border-radius:6px;margin:6px 0;overflow:hidden}
details.trace.error{border-left:3px solid var(--err)}
summary{cursor:pointer;padding:7px 10px;display:flex;gap:14px;align-items:baseline;flex-wrap:wrap}
summary:hover{background:#f0f3f8}
summary .when{color:var(--muted);font-variant-numeric:tabular-nums;font-size:12.5px}
summary .name{font-weight:600}
summary .dur{font-variant-numeric:tabular-nums;font-weight:600;color:#174ea6}
summary .count{color:var(--muted);font-size:12.5px}
summary code{color:var(--muted);font-size:11.5px}
.badge{font-size:11px;padding:1px 6px;border-radius:9px;background:#eef0f4;color:var(--muted)}
.badge.err{background:#fde8e8;color:var(--err)}
.backlinks{margin:0;padding:2px 12px 6px;font-size:12.5px;color:var(--muted)}
table.waterfall{width:100%;border-collapse:collapse;table-layout:fixed;border-top:1px solid var(--line)}
col.c-name{width:34%}col.c-bar{width:54%}col.c-ms{width:12%}
tr.span td{padding:5px 8px 1px;vertical-align:middle}
td.sname{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-weight:500}
.kind{display:inline-block;min-width:58px;font-size:10.5px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);margin-right:6px}
td.timeline{position:relative}
.bar{height:12px;border-radius:3px;background:var(--bar);min-width:2px}
.bar.err{background:var(--err)}
td.ms{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.detail td{padding:0 8px 6px;font-size:11.5px;color:var(--muted);border-bottom:1px solid #f0f1f4}
.kv{display:inline-block;margin:0 12px 0 0;word-break:break-all}
.kv b{font-weight:500;color:#4a5264;margin-right:3px}
.kv.err{color:var(--err)}
a.ref{font-family:ui-monospace,monospace;color:#174ea6;margin-right:4px}
.ref.gone{font-family:ui-monospace,monospace;color:#a0a6b4;margin-right:4px}
table.summary{border-collapse:collapse;background:var(--card);border:1px solid var(--line);font-size:13px}
table.summary th,table.summary td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left}
table.summary th{font-weight:600;color:#4a5264;background:#fafbfc}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.zero{color:#c3c8d2}
td.err{color:var(--err);font-weight:600}
`;
