// Says once that trace export fails, and once that it works again, instead of
// a line per failed batch: a collector that is down fails every export (one
// every OTEL_BSP_SCHEDULE_DELAY), and the batch processor then also reports
// every failure and every dropped span through OpenTelemetry's diag logger.
// Those echoes of an outage already reported are muted (see isEcho).
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** ExportResultCode.SUCCESS and FAILED of @opentelemetry/core. */
const SUCCESS = 0;
const FAILED = 1;

type ExportResult = Parameters<Parameters<SpanExporter['export']>[1]>[0];

export class ReportingExporter implements SpanExporter {
  private failing = false;
  /** Error texts of the current outage, to mute their echoes. */
  private readonly echoes = new Set<string>();

  constructor(
    private readonly inner: SpanExporter,
    /** Where the collector is, for the message. */
    private readonly target: string,
    private readonly log: (level: 'warn' | 'info', msg: string) => void,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const report = (result: ExportResult): void => {
      if (result.code === SUCCESS) {
        if (this.failing) {
          this.failing = false;
          this.echoes.clear();
          this.log('info', `trace export to ${this.target} works again`);
        }
      } else {
        const reason = result.error?.message ?? 'export failed';
        if (this.echoes.size < 20) this.echoes.add(reason);
        if (!this.failing) {
          this.failing = true;
          this.log(
            'warn',
            `trace export to ${this.target} fails (${reason}): spans are dropped until it answers again (said once; a line follows when it recovers)`,
          );
        }
      }
      done(result);
    };
    try {
      this.inner.export(spans, report);
    } catch (err) {
      // An exporter that throws instead of answering FAILED (seen under jest's module loader).
      report({ code: FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  /** Whether a diag message only repeats the outage already reported. */
  isEcho(message: string): boolean {
    if (!this.failing) return false;
    if (/^Dropped \d+ spans|span export failed/.test(message)) return true;
    for (const e of this.echoes) if (message.includes(e)) return true;
    return false;
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
