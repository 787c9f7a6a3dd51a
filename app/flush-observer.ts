// The ingest service's observer, as the app wires it: each event count and
// flush becomes Prometheus series, a failed flush a warning, and (with tracing
// on) each flush a span linked to the requests it stored.
import { Logger } from '@nestjs/common';
import { IngestObserver } from '../business/ports';
import { ServiceMetrics } from './metrics/service-metrics';
import { FlushSpans } from './tracing/flush-spans';

export function ingestObserver(metrics: ServiceMetrics, logger: Logger, spans: FlushSpans | undefined): IngestObserver {
  return {
    eventsAccepted: (type, n) => metrics.eventsAccepted(type, n),
    eventsRejected: (reason, n) => metrics.eventsRejected(reason, n),
    async aroundFlush(start, write) {
      const traced = spans?.start(start);
      const result = await (traced ? traced.run(write) : write());
      metrics.flushed(result);
      if (!result.ok) {
        const { domains, events } = result.report;
        const err = result.error instanceof Error ? result.error.message : result.error;
        logger.warn(
          { domains, events, retryInMs: result.retryInMs, err, ...traced?.logFields() },
          'flush failed; deltas kept for retry',
        );
      }
      traced?.end(result);
    },
  };
}
