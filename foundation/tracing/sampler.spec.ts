import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { Sampler, SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { createSampling, PRE_SAMPLED } from './sampler';

const traceId = (n: number) => n.toString(16).padStart(32, '0');
const sampledLink = { context: { traceId: traceId(1), spanId: '00000000000000a1', traceFlags: TraceFlags.SAMPLED } };
const unsampledLink = { context: { traceId: traceId(2), spanId: '00000000000000a2', traceFlags: TraceFlags.NONE } };

function decide(sampler: Sampler, links = [] as Array<typeof sampledLink>, ctx = ROOT_CONTEXT, id = traceId(3)) {
  return sampler.shouldSample(ctx, id, 'span', SpanKind.INTERNAL, {}, links).decision;
}

const share = (n: number, f: () => boolean) => Array.from({ length: n }, f).filter(Boolean).length / n;

describe('createSampling', () => {
  it('samples a root span linking to a sampled span even at ratio 0', () => {
    const { sampler } = createSampling('parentbased_traceidratio', 0);
    expect(decide(sampler)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(sampler, [unsampledLink])).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(sampler, [unsampledLink, sampledLink])).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('follows a remote parent’s decision, links or not', () => {
    const { sampler } = createSampling('parentbased_traceidratio', 1);
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: traceId(9),
      spanId: '00000000000000b9',
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    });
    expect(decide(sampler, [sampledLink], parent)).toBe(SamplingDecision.NOT_RECORD);
  });

  it('samples about the ratio asked for, by trace id and on the fast path alike', () => {
    const { sampler, sampleNewTrace } = createSampling('traceidratio', 0.25);
    let sampled = 0;
    for (let i = 0; i < 4000; i++) {
      const id = (i * 2654435761 + 12345).toString(16).padStart(32, '7').slice(-32);
      if (decide(sampler, [], ROOT_CONTEXT, id) === SamplingDecision.RECORD_AND_SAMPLED) sampled++;
    }
    expect(sampled / 4000).toBeGreaterThan(0.2);
    expect(sampled / 4000).toBeLessThan(0.3);
    const fast = share(4000, sampleNewTrace);
    expect(fast).toBeGreaterThan(0.2);
    expect(fast).toBeLessThan(0.3);
  });

  it('accepts what the fast path decided without deciding again', () => {
    const { sampler } = createSampling('parentbased_traceidratio', 0);
    expect(decide(sampler, [], PRE_SAMPLED)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('never samples with always_off or parentbased_always_off roots', () => {
    const off = createSampling('always_off', 1);
    expect(decide(off.sampler, [sampledLink])).toBe(SamplingDecision.NOT_RECORD);
    expect(share(100, off.sampleNewTrace)).toBe(0);
    expect(share(100, createSampling('parentbased_always_off', 1).sampleNewTrace)).toBe(0);
    expect(share(100, createSampling('parentbased_always_on', 0).sampleNewTrace)).toBe(1);
  });

  it('caps new traces per second across both paths, refilling over time', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const { sampler, sampleNewTrace } = createSampling('parentbased_always_on', 1, 10);
      const burst = Array.from({ length: 15 }, () => decide(sampler));
      expect(burst.filter((d) => d === SamplingDecision.RECORD_AND_SAMPLED)).toHaveLength(10);
      expect(sampleNewTrace()).toBe(false);
      jest.setSystemTime(1_000_500);
      expect(share(25, sampleNewTrace)).toBe(5 / 25);
      // A flush carrying sampled requests is not capped.
      expect(decide(sampler, [sampledLink])).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    } finally {
      jest.useRealTimers();
    }
  });
});
