// Samplers by their standard OTEL_TRACES_SAMPLER names, each wrapped so that a
// new root span linking to a sampled span is sampled too: a batch job (a flush)
// that carries sampled requests is then always traced, whatever the ratio says,
// and the links from those requests lead somewhere. Optionally rate limited
// (new traces per second), and with a fast path for the per-request decision.
import { Attributes, Context, createContextKey, Link, ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
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

/** The sampler for the SDK, and the same policy for the hot path (see sampleNewTrace). */
export interface Sampling {
  sampler: Sampler;
  /**
   * Whether a new trace (no parent) starting here is sampled, decided before
   * any id or span exists: a random draw instead of the trace id, which is as
   * random for a trace that starts here, and the same rate limit. A server span
   * asks this first and makes no span at all for a "no"; for a "yes" it starts
   * the span in PRE_SAMPLED, which the sampler accepts without deciding again.
   */
  sampleNewTrace(): boolean;
}

const PRE_SAMPLED_KEY = createContextKey('foundation.tracing.pre-sampled');
/** Start a root span in this context when sampleNewTrace() said yes. */
export const PRE_SAMPLED: Context = ROOT_CONTEXT.setValue(PRE_SAMPLED_KEY, true);

/**
 * `ratio` is OTEL_TRACES_SAMPLER_ARG; only the *traceidratio samplers read it.
 * `maxPerSecond` (0: no limit) caps the new traces this process starts, after
 * the ratio: a trace continued from a sampled caller is not counted or capped.
 */
export function createSampling(name: SamplerName, ratio: number, maxPerSecond = 0): Sampling {
  const bucket = maxPerSecond > 0 ? new TokenBucket(maxPerSecond) : undefined;
  const limit = (s: Sampler): Sampler => (bucket ? new RateLimitedSampler(s, bucket) : s);
  const draw = (p: number) => () => (p >= 1 || Math.random() < p) && (bucket?.take() ?? true);
  const never = () => false;
  const sampling = (sampler: Sampler, sampleNewTrace: () => boolean): Sampling => ({
    sampler: new PreSampledSampler(new SampledLinksSampler(sampler)),
    sampleNewTrace,
  });
  switch (name) {
    case 'always_on':
      return sampling(limit(new AlwaysOnSampler()), draw(1));
    case 'always_off':
      return { sampler: new AlwaysOffSampler(), sampleNewTrace: never };
    case 'traceidratio':
      return sampling(limit(new TraceIdRatioBasedSampler(ratio)), draw(ratio));
    case 'parentbased_always_on':
      return sampling(new ParentBasedSampler({ root: limit(new AlwaysOnSampler()) }), draw(1));
    case 'parentbased_always_off':
      return sampling(new ParentBasedSampler({ root: new AlwaysOffSampler() }), never);
    case 'parentbased_traceidratio':
      return sampling(new ParentBasedSampler({ root: limit(new TraceIdRatioBasedSampler(ratio)) }), draw(ratio));
  }
}

/** At most `perSecond` takes a second, in bursts of up to one second's worth. */
class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  toString(): string {
    return `${this.perSecond}/s`;
  }
}

/**
 * Lets the wrapped sampler's "sampled" decisions through while the bucket has
 * tokens; the rest are dropped. Keeps "sample everything" affordable: every
 * request made by hand is traced, a load test is not.
 */
class RateLimitedSampler implements Sampler {
  constructor(
    private readonly base: Sampler,
    private readonly bucket: TokenBucket,
  ) {}

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
    return this.bucket.take() ? result : { decision: SamplingDecision.NOT_RECORD };
  }

  toString(): string {
    return `RateLimited{${this.base.toString()}, ${this.bucket.toString()}}`;
  }
}

/** Samples what the hot path already decided to sample (PRE_SAMPLED); otherwise asks the wrapped sampler. */
class PreSampledSampler implements Sampler {
  constructor(private readonly base: Sampler) {}

  shouldSample(
    ctx: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (ctx.getValue(PRE_SAMPLED_KEY) === true) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return this.base.shouldSample(ctx, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return this.base.toString();
  }
}

/** Samples a root span that links to at least one sampled span; otherwise asks the wrapped sampler. */
class SampledLinksSampler implements Sampler {
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
