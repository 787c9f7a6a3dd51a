import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { createSampler } from './sampler';

const traceId = (n: number) => n.toString(16).padStart(32, '0');
const sampledLink = { context: { traceId: traceId(1), spanId: '00000000000000a1', traceFlags: TraceFlags.SAMPLED } };
const unsampledLink = { context: { traceId: traceId(2), spanId: '00000000000000a2', traceFlags: TraceFlags.NONE } };

function decide(sampler: ReturnType<typeof createSampler>, links = [] as Array<typeof sampledLink>, ctx = ROOT_CONTEXT, id = traceId(3)) {
  return sampler.shouldSample(ctx, id, 'span', SpanKind.INTERNAL, {}, links).decision;
}

describe('createSampler', () => {
  it('samples a root span linking to a sampled span even at ratio 0', () => {
    const s = createSampler('parentbased_traceidratio', 0);
    expect(decide(s)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(s, [unsampledLink])).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(s, [unsampledLink, sampledLink])).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('follows a remote parent’s decision, links or not', () => {
    const s = createSampler('parentbased_traceidratio', 1);
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: traceId(9),
      spanId: '00000000000000b9',
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    });
    expect(decide(s, [sampledLink], parent)).toBe(SamplingDecision.NOT_RECORD);
  });

  it('samples about the ratio asked for', () => {
    const s = createSampler('traceidratio', 0.25);
    let sampled = 0;
    for (let i = 0; i < 4000; i++) {
      const id = (i * 2654435761 + 12345).toString(16).padStart(32, '7').slice(-32);
      if (decide(s, [], ROOT_CONTEXT, id) === SamplingDecision.RECORD_AND_SAMPLED) sampled++;
    }
    expect(sampled / 4000).toBeGreaterThan(0.2);
    expect(sampled / 4000).toBeLessThan(0.3);
  });

  it('never samples with always_off', () => {
    expect(decide(createSampler('always_off', 1), [sampledLink])).toBe(SamplingDecision.NOT_RECORD);
  });

  it('caps new traces per second, refilling over time', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const s = createSampler('parentbased_always_on', 1, 10);
      const burst = Array.from({ length: 25 }, () => decide(s));
      expect(burst.filter((d) => d === SamplingDecision.RECORD_AND_SAMPLED)).toHaveLength(10);
      jest.setSystemTime(1_000_500);
      const later = Array.from({ length: 25 }, () => decide(s));
      expect(later.filter((d) => d === SamplingDecision.RECORD_AND_SAMPLED)).toHaveLength(5);
      // A flush carrying sampled requests is not capped.
      expect(decide(s, [sampledLink])).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    } finally {
      jest.useRealTimers();
    }
  });
});
