// Samplers by their standard OTEL_TRACES_SAMPLER names, each wrapped so that a
// new root span linking to a sampled span is sampled too: a batch job (a flush)
// that carries sampled requests is then always traced, whatever the ratio says,
// and the links from those requests lead somewhere.
import { Attributes, Context, Link, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  Sampler,
  SamplingDecision,
  SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';

export const SAMPLER_NAMES = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/**
 * `ratio` is OTEL_TRACES_SAMPLER_ARG; only the *traceidratio samplers read it.
 * `maxPerSecond` (0: no limit) caps the new traces this process starts, after
 * the ratio: a trace continued from a sampled caller is not counted or capped.
 */
export function createSampler(name: SamplerName, ratio: number, maxPerSecond = 0): Sampler {
  const limit = (s: Sampler): Sampler => (maxPerSecond > 0 ? new RateLimitedSampler(s, maxPerSecond) : s);
  switch (name) {
    case 'always_on':
      return new SampledLinksSampler(limit(new AlwaysOnSampler()));
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new SampledLinksSampler(limit(new TraceIdRatioBasedSampler(ratio)));
    case 'parentbased_always_on':
      return new SampledLinksSampler(new ParentBasedSampler({ root: limit(new AlwaysOnSampler()) }));
    case 'parentbased_always_off':
      return new SampledLinksSampler(new ParentBasedSampler({ root: new AlwaysOffSampler() }));
    case 'parentbased_traceidratio':
      return new SampledLinksSampler(new ParentBasedSampler({ root: limit(new TraceIdRatioBasedSampler(ratio)) }));
  }
}

/**
 * Lets at most `perSecond` sampled decisions of the wrapped sampler through (a
 * token bucket holding one second's worth); the rest are dropped. Keeps "sample
 * everything" affordable: every request by hand is traced, a load test is not.
 */
export class RateLimitedSampler implements Sampler {
  private tokens: number;
  private last = Date.now();

  constructor(
    private readonly base: Sampler,
    private readonly perSecond: number,
  ) {
    this.tokens = perSecond;
  }

  shouldSample(
    ctx: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const result = this.base.shouldSample(ctx, traceId, name, kind, attributes, links);
    if (result.decision !== SamplingDecision.RECORD_AND_SAMPLED) return result;
    const now = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return { decision: SamplingDecision.NOT_RECORD };
    this.tokens -= 1;
    return result;
  }

  toString(): string {
    return `RateLimited{${this.base.toString()}, ${this.perSecond}/s}`;
  }
}

/** Samples a root span that links to at least one sampled span; otherwise asks the wrapped sampler. */
export class SampledLinksSampler implements Sampler {
  constructor(private readonly base: Sampler) {}

  shouldSample(
    ctx: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (links.length > 0 && trace.getSpanContext(ctx) === undefined) {
      for (const link of links) {
        if ((link.context.traceFlags & TraceFlags.SAMPLED) !== 0) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
      }
    }
    return this.base.shouldSample(ctx, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `SampledLinks{${this.base.toString()}}`;
  }
}
